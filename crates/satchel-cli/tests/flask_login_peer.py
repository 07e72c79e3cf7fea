# Flask-Login and flashes on a Flask app, shared by the live interop tests' Flask peers
# (`app_flask_interop.rs`: Flask's cookie sessions; `flask_session/app.py`: Flask-Session).
from flask import flash, get_flashed_messages, request
from flask_login import LoginManager, UserMixin, current_user, login_fresh, login_required, login_user, logout_user


class User(UserMixin):
    def __init__(self, id):
        self.id = id


def add_login(app, login_view=None):
    """`/login` (POST a username), `/protected`, `/logout`, `/flash` and `/flashes`.
    Without `login_view`, `/protected` answers 401 to a visitor who is not logged in."""
    login_manager = LoginManager(app)
    login_manager.login_view = login_view

    @login_manager.user_loader
    def load_user(user_id):
        return User(user_id) if user_id in ("admin", "alice") else None

    @app.route("/login", methods=["GET", "POST"])
    def login():
        if request.method == "POST":
            login_user(User(request.form["username"]))
            return "logged in"
        return "login page"

    @app.get("/protected")
    @login_required
    def protected():
        return f"user={current_user.id} fresh={login_fresh()}"

    @app.get("/logout")
    def logout():
        logout_user()
        return "logged out"

    @app.get("/flash")
    def do_flash():
        flash("Hello from Flask", "warning")
        return "flashed"

    @app.get("/flashes")
    def flashes():
        return repr(get_flashed_messages(with_categories=True))
