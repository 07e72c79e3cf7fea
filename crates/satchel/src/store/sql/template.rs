//! The SQL templater: a statement is written once with named parameters (`:id`, `:token`, …)
//! and turned into its dialect's placeholders ([`Statement`]); [`Values`] holds what the
//! parameters bind, typed as the database sees them ([`Bound`]).

/// A value bound to a statement, by name in the templates (`statements.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Param {
    Id,
    NewId,
    Token,
    TtlMs,
    Now,
    Data,
    Created,
    Idle,
    Absolute,
    Expires,
    Limit,
    Login,
    UserKey,
}

impl Param {
    fn named(name: &str) -> Option<Param> {
        Some(match name {
            "id" => Param::Id,
            "new_id" => Param::NewId,
            "token" => Param::Token,
            "ttl" => Param::TtlMs,
            "now" => Param::Now,
            "data" => Param::Data,
            "created" => Param::Created,
            "idle" => Param::Idle,
            "absolute" => Param::Absolute,
            "expires" => Param::Expires,
            "limit" => Param::Limit,
            "login" => Param::Login,
            "user_key" => Param::UserKey,
            _ => return None,
        })
    }
}

/// How a dialect writes placeholders.
#[derive(Debug, Clone, Copy)]
// A build with one database uses one of these (the tests build every one).
#[cfg_attr(
    not(all(feature = "sqlite", feature = "postgres", feature = "mysql")),
    allow(dead_code)
)]
pub(crate) enum Placeholders {
    /// `$1`, `$2`, … (PostgreSQL): a name used twice keeps its number.
    Dollar,
    /// `?1`, `?2`, … (SQLite): likewise.
    QuestionNumbered,
    /// `?` (MySQL): one per use, bound in order.
    Question,
}

/// A statement: its text for the driver and the values it binds, in order.
#[derive(Debug, Clone)]
pub(crate) struct Statement {
    pub(crate) sql: sqlx::SqlStr,
    pub(crate) params: Vec<Param>,
}

impl Statement {
    /// `template` with every `:name` replaced by the dialect's placeholder (`::` is left alone).
    pub(super) fn new(template: &str, style: Placeholders) -> Statement {
        let mut sql = String::with_capacity(template.len());
        let mut params: Vec<Param> = Vec::new();
        let mut distinct: Vec<Param> = Vec::new();
        let mut rest = template;
        while let Some(at) = rest.find(':') {
            sql.push_str(&rest[..at]);
            let after = &rest[at + 1..];
            let len = after
                .bytes()
                .take_while(|b| b.is_ascii_lowercase() || *b == b'_')
                .count();
            let param = (len > 0).then(|| Param::named(&after[..len])).flatten();
            let Some(param) = param else {
                // Not a parameter (`::`, or a colon in text): copied as it is.
                let colons = 1 + after.bytes().take_while(|b| *b == b':').count();
                sql.push_str(&rest[at..at + colons]);
                rest = &rest[at + colons..];
                continue;
            };
            let number = match distinct.iter().position(|p| *p == param) {
                Some(i) => i + 1,
                None => {
                    distinct.push(param);
                    distinct.len()
                }
            };
            match style {
                Placeholders::Dollar => sql.push_str(&format!("${number}")),
                Placeholders::QuestionNumbered => sql.push_str(&format!("?{number}")),
                Placeholders::Question => {
                    sql.push('?');
                    params.push(param);
                }
            }
            rest = &after[len..];
        }
        sql.push_str(rest);
        if !matches!(style, Placeholders::Question) {
            params = distinct;
        }
        Statement {
            sql: sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(sql)),
            params,
        }
    }
}

/// The values a statement may bind; each statement takes the ones it names.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Values<'a> {
    pub(crate) id: &'a [u8],
    pub(crate) new_id: &'a [u8],
    pub(crate) token: [u8; 16],
    pub(crate) ttl_ms: i64,
    pub(crate) now: i64,
    pub(crate) data: &'a str,
    pub(crate) created: i64,
    pub(crate) idle: i64,
    pub(crate) absolute: i64,
    pub(crate) expires: i64,
    pub(crate) limit: i64,
    /// The record's [`Login`](crate::store::Login) as JSON; `None` for an anonymous session.
    pub(crate) login: Option<&'a str>,
    /// The logged-in user's key (SHA-256 hex of the user id).
    pub(crate) user_key: Option<&'a str>,
}

/// One value to bind, typed as the database sees it.
pub(crate) enum Bound<'a> {
    Bytes(&'a [u8]),
    Text(&'a str),
    Int(i64),
    /// Text or `NULL`.
    OptText(Option<&'a str>),
}

impl<'a> Values<'a> {
    pub(crate) fn get(&'a self, param: Param) -> Bound<'a> {
        match param {
            Param::Id => Bound::Bytes(self.id),
            Param::NewId => Bound::Bytes(self.new_id),
            Param::Token => Bound::Bytes(&self.token),
            Param::TtlMs => Bound::Int(self.ttl_ms),
            Param::Now => Bound::Int(self.now),
            Param::Data => Bound::Text(self.data),
            Param::Created => Bound::Int(self.created),
            Param::Idle => Bound::Int(self.idle),
            Param::Absolute => Bound::Int(self.absolute),
            Param::Expires => Bound::Int(self.expires),
            Param::Limit => Bound::Int(self.limit),
            Param::Login => Bound::OptText(self.login),
            Param::UserKey => Bound::OptText(self.user_key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn named_parameters_become_each_dialects_placeholders() {
        let text =
            "UPDATE t SET a = :token, b = CAST(x AS int)::bigint WHERE id = :id AND c = :token";
        let pg = Statement::new(text, Placeholders::Dollar);
        assert_eq!(
            pg.sql.as_str(),
            "UPDATE t SET a = $1, b = CAST(x AS int)::bigint WHERE id = $2 AND c = $1"
        );
        assert_eq!(pg.params, [Param::Token, Param::Id]);
        let lite = Statement::new(text, Placeholders::QuestionNumbered);
        assert!(lite.sql.as_str().ends_with("id = ?2 AND c = ?1"));
        let my = Statement::new(text, Placeholders::Question);
        assert!(my.sql.as_str().ends_with("id = ? AND c = ?"));
        assert_eq!(my.params, [Param::Token, Param::Id, Param::Token]);
    }
}
