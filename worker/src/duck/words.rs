//! DuckDB's error messages in PostgreSQL's words, for the errors drivers, ORMs and people
//! match on: a missing relation, column or function, a duplicate key, a null in a
//! not-null column. The SQLSTATE does not change (it comes from DuckDB's error class);
//! the message, detail and hint become PostgreSQL's, and the object the error is about
//! goes in the fields PostgreSQL names it in.

use mallard_protocol::pg::backend::ErrorObject;

/// A message reworded: what replaces DuckDB's message, detail and hint.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Words {
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    pub object: ErrorObject,
}

/// PostgreSQL's hint for a call no function matches.
const NO_FUNCTION_HINT: &str =
    "No function matches the given name and argument types. You might need to add explicit type casts.";

/// `message` (DuckDB's, without its class prefix and caret context) in PostgreSQL's
/// words, when it is one of the errors this module knows.
pub(super) fn postgres_words(message: &str) -> Option<Words> {
    let first = message.lines().next().unwrap_or(message);
    unsupported_type(first)
        .or_else(|| decimal_overflow(first))
        .or_else(|| missing_entry(first))
        .or_else(|| existing_entry(first))
        .or_else(|| missing_column(first))
        .or_else(|| no_matching_function(first))
        .or_else(|| duplicate_key(first))
        .or_else(|| not_null(first))
}

/// PostgreSQL types DuckDB has no equivalent of, by the family named in the detail.
const TYPES_DUCKDB_LACKS: &[(&[&str], &str)] = &[
    (
        &["int4range", "int8range", "numrange", "tsrange", "tstzrange", "daterange"],
        "DuckDB has no range types.",
    ),
    (
        &[
            "int4multirange",
            "int8multirange",
            "nummultirange",
            "tsmultirange",
            "tstzmultirange",
            "datemultirange",
        ],
        "DuckDB has no multirange types.",
    ),
    (&["inet", "cidr", "macaddr", "macaddr8"], "DuckDB's inet extension is not built into mallard."),
    (&["point", "line", "lseg", "box", "path", "polygon", "circle"], "DuckDB has no geometric types."),
    (&["tsvector", "tsquery", "regconfig"], "DuckDB has no text search types."),
    (&["money", "xml", "pg_lsn", "txid_snapshot", "pg_snapshot"], "DuckDB has no such type."),
];

/// A type PostgreSQL has and DuckDB lacks, named as missing (`Type with name int4range
/// does not exist!`) or as in an extension DuckDB would install or load (`inet`):
/// 0A000 naming it, not "does not exist".
fn unsupported_type(m: &str) -> Option<Words> {
    let name = match m.strip_prefix("Type with name ") {
        // With autoloading off: `Type with name "inet" is not in the catalog, but it
        // exists in the inet extension.`
        Some(rest) if rest.contains(" is not in the catalog, but it exists in the ") => {
            unquote(rest.split(" is not in the catalog").next()?).to_ascii_lowercase()
        }
        Some(rest) => unquote(rest.split(" does not exist").next()?).to_ascii_lowercase(),
        None if m.contains("required extension 'inet'") => "inet".to_owned(),
        None => return None,
    };
    let (_, detail) = TYPES_DUCKDB_LACKS.iter().find(|(names, _)| names.contains(&name.as_str()))?;
    Some(Words {
        message: format!("type \"{name}\" is not supported"),
        detail: Some((*detail).to_owned()),
        ..Words::default()
    })
}

/// A value a `DECIMAL(p,s)` cannot hold, in PostgreSQL's words (`numeric field
/// overflow`, 22003), from DuckDB's three spellings of it; text that is no number at all
/// is PostgreSQL's `invalid input syntax for type numeric`.
fn decimal_overflow(m: &str) -> Option<Words> {
    let target = if let Some(rest) = m.strip_prefix("Could not cast value ") {
        rest.rsplit_once(" to DECIMAL(")?.1
    } else if let Some(rest) = m.strip_prefix("Casting value \"") {
        rest.split_once("\" to type DECIMAL(")?.1.strip_suffix(" failed: value is out of range!")?
    } else {
        let rest = m.strip_prefix("Could not convert string \"")?;
        let (value, target) = rest.rsplit_once("\" to DECIMAL(")?;
        if value.trim().parse::<f64>().map_or(true, |v| !v.is_finite()) {
            return Some(Words {
                message: format!("invalid input syntax for type numeric: \"{value}\""),
                ..Words::default()
            });
        }
        target
    };
    let (precision, scale) = target.strip_suffix(')')?.split_once(',')?;
    let (precision, scale): (u32, u32) = (precision.trim().parse().ok()?, scale.trim().parse().ok()?);
    let integer_digits = precision.saturating_sub(scale);
    let bound = if integer_digits == 0 { "1".to_owned() } else { format!("10^{integer_digits}") };
    Some(Words {
        message: "numeric field overflow".into(),
        detail: Some(format!(
            "A field with precision {precision}, scale {scale} must round to an absolute value less than {bound}."
        )),
        ..Words::default()
    })
}

/// `Table with name x does not exist!` and the like.
fn missing_entry(m: &str) -> Option<Words> {
    let (kind, rest) = m.split_once(" with name ")?;
    let name = rest
        .strip_suffix(" does not exist!")
        .or_else(|| rest.split_once(" does not exist because schema ").map(|(name, _)| name))?;
    let name = unquote(name);
    let words = match kind {
        "Table" | "View" | "Sequence" | "Index" => format!("relation \"{name}\" does not exist"),
        "Type" => format!("type \"{name}\" does not exist"),
        "Schema" => format!("schema \"{name}\" does not exist"),
        "Scalar Function" | "Table Function" | "Macro Function" | "Aggregate Function" | "Function" => {
            return Some(Words {
                message: format!("function {name} does not exist"),
                hint: Some(NO_FUNCTION_HINT.into()),
                ..Words::default()
            })
        }
        _ => return None,
    };
    Some(Words { message: words, ..Words::default() })
}

/// `Table with name "t" already exists!`
fn existing_entry(m: &str) -> Option<Words> {
    let (kind, rest) = m.split_once(" with name ")?;
    let name = unquote(rest.strip_suffix(" already exists!")?);
    let message = match kind {
        "Table" | "View" | "Sequence" | "Index" => format!("relation \"{name}\" already exists"),
        "Schema" => format!("schema \"{name}\" already exists"),
        "Type" => format!("type \"{name}\" already exists"),
        _ => return None,
    };
    Some(Words { message, ..Words::default() })
}

/// `Referenced column "x" not found in FROM clause!`, `Table "t" does not have a column
/// named "x"`, `Referenced table "t" not found!`.
fn missing_column(m: &str) -> Option<Words> {
    if let Some(rest) = m.strip_prefix("Referenced column ") {
        let name = unquote(rest.split_once(" not found in FROM clause")?.0);
        return Some(Words {
            message: format!("column \"{name}\" does not exist"),
            object: ErrorObject { column: Some(name.to_owned()), ..ErrorObject::default() },
            ..Words::default()
        });
    }
    if let Some(rest) = m.strip_prefix("Referenced table ") {
        let name = unquote(rest.strip_suffix(" not found!")?);
        return Some(Words {
            message: format!("missing FROM-clause entry for table \"{name}\""),
            ..Words::default()
        });
    }
    let (relation, column) = m.split_once(" does not have a column named ")?;
    let relation = unquote(relation.split_once(' ').map(|(_, r)| r).filter(|r| r.starts_with('"'))?);
    let column = unquote(column);
    Some(Words {
        message: format!("column {relation}.{column} does not exist"),
        object: ErrorObject { column: Some(column.to_owned()), ..ErrorObject::default() },
        ..Words::default()
    })
}

/// `No function matches the given name and argument types 'lower(INTEGER_LITERAL)'. ...`
fn no_matching_function(m: &str) -> Option<Words> {
    let call = m.strip_prefix("No function matches the given name and argument types '")?.split_once("'.")?.0;
    let (name, args) = call.strip_suffix(')')?.split_once('(')?;
    let args: Vec<String> = split_args(args).into_iter().map(postgres_type_name).collect();
    Some(Words {
        message: format!("function {name}({}) does not exist", args.join(", ")),
        hint: Some(NO_FUNCTION_HINT.into()),
        ..Words::default()
    })
}

/// `Duplicate key "id: 1" violates primary key constraint.` (or `unique constraint`).
/// DuckDB does not say which table: the constraint's name is PostgreSQL's default for
/// it less the table (`_pkey`, `_a_b_key`), for the session to complete from the
/// statement ([`constraint_of_statement`]).
fn duplicate_key(m: &str) -> Option<Words> {
    let rest = m.strip_prefix("Duplicate key \"")?;
    let (key, kind) = rest.split_once("\" violates ")?;
    let (columns, values): (Vec<&str>, Vec<&str>) =
        key.split(", ").filter_map(|pair| pair.split_once(": ")).unzip();
    let detail = (!columns.is_empty())
        .then(|| format!("Key ({})=({}) already exists.", columns.join(", "), values.join(", ")));
    let suffix = if kind.starts_with("primary key") {
        Some("_pkey".to_owned())
    } else {
        (!columns.is_empty()).then(|| format!("_{}_key", columns.join("_")))
    };
    Some(Words {
        message: "duplicate key value violates unique constraint".into(),
        detail,
        object: ErrorObject { constraint: suffix, ..ErrorObject::default() },
        ..Words::default()
    })
}

/// Completes a duplicate-key error from the statement that raised it: the table it
/// writes (`INSERT INTO t`, `UPDATE t`, `COPY t`) names the constraint, as PostgreSQL
/// names it by default (`t_pkey`, `t_email_key`) and as the catalog shows it. Without a
/// table the name is dropped rather than guessed.
pub fn constraint_of_statement(object: &mut ErrorObject, message: &mut String, sql: &str) {
    let Some(suffix) = object.constraint.take().filter(|s| s.starts_with('_')) else { return };
    let Some((schema, table)) = crate::sql::written_table(sql) else { return };
    let name = format!("{table}{suffix}");
    message.push_str(&format!(" \"{name}\""));
    object.schema = Some(schema);
    object.table = Some(table);
    object.constraint = Some(name);
}

/// `NOT NULL constraint failed: t.x`
fn not_null(m: &str) -> Option<Words> {
    let (table, column) = m.strip_prefix("NOT NULL constraint failed: ")?.rsplit_once('.')?;
    Some(Words {
        message: format!(
            "null value in column \"{column}\" of relation \"{table}\" violates not-null constraint"
        ),
        object: ErrorObject {
            table: Some(table.to_owned()),
            column: Some(column.to_owned()),
            ..ErrorObject::default()
        },
        ..Words::default()
    })
}

fn unquote(name: &str) -> &str {
    name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name)
}

/// `INTEGER, DECIMAL(10,2), VARCHAR[]` split at the top-level commas.
fn split_args(args: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0i32, 0);
    for (i, c) in args.char_indices() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if !args.trim().is_empty() {
        out.push(args[start..].trim());
    }
    out
}

/// The name PostgreSQL gives the type DuckDB calls `duck` in a function signature.
fn postgres_type_name(duck: &str) -> String {
    if let Some(element) = duck.strip_suffix("[]") {
        return format!("{}[]", postgres_type_name(element));
    }
    let base = duck.split('(').next().unwrap_or(duck).trim();
    match base {
        "INTEGER_LITERAL" | "INTEGER" => "integer",
        "STRING_LITERAL" | "NULL" => "unknown",
        "BIGINT" => "bigint",
        "SMALLINT" | "TINYINT" => "smallint",
        "HUGEINT" | "DECIMAL" | "UBIGINT" | "UHUGEINT" => "numeric",
        "DOUBLE" => "double precision",
        "FLOAT" => "real",
        "VARCHAR" => "text",
        "BOOLEAN" => "boolean",
        "DATE" => "date",
        "TIME" => "time without time zone",
        "TIMESTAMP" => "timestamp without time zone",
        "TIMESTAMP WITH TIME ZONE" => "timestamp with time zone",
        "INTERVAL" => "interval",
        "BLOB" => "bytea",
        "UUID" => "uuid",
        "JSON" => "json",
        other => return other.to_ascii_lowercase(),
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(m: &str) -> String {
        postgres_words(m).map(|w| w.message).unwrap_or_else(|| format!("unchanged: {m}"))
    }

    #[test]
    fn missing_and_existing_objects_are_named_as_postgres_names_them() {
        assert_eq!(message("Table with name nosuch does not exist!"), "relation \"nosuch\" does not exist");
        assert_eq!(
            message("Table with name \"s.t\" does not exist because schema \"s\" does not exist."),
            "relation \"s.t\" does not exist"
        );
        assert_eq!(message("Type with name serial does not exist!"), "type \"serial\" does not exist");
        assert_eq!(
            message("Type with name int4range does not exist!"),
            "type \"int4range\" is not supported"
        );
        assert_eq!(
            message("An error occurred while trying to automatically install the required extension 'inet':"),
            "type \"inet\" is not supported"
        );
        assert_eq!(
            message("Type with name \"inet\" is not in the catalog, but it exists in the inet extension.\n\nPlease try installing and loading the inet extension by running:\nINSTALL inet;"),
            "type \"inet\" is not supported"
        );
        assert_eq!(message("Table with name \"t\" already exists!"), "relation \"t\" already exists");
        assert_eq!(
            message("Referenced column \"nosuch\" not found in FROM clause!\nCandidate bindings: \"id\""),
            "column \"nosuch\" does not exist"
        );
        assert_eq!(message("Table \"t\" does not have a column named \"x\""), "column t.x does not exist");
        assert_eq!(message("Referenced table \"q\" not found!"), "missing FROM-clause entry for table \"q\"");
        assert_eq!(message("Something else entirely"), "unchanged: Something else entirely");
    }

    #[test]
    fn functions_are_named_with_postgres_types() {
        let w = postgres_words(
            "No function matches the given name and argument types 'abs(STRING_LITERAL, DECIMAL(10,2), VARCHAR[])'. \
             You might need to add explicit type casts.",
        )
        .unwrap();
        assert_eq!(w.message, "function abs(unknown, numeric, text[]) does not exist");
        assert_eq!(w.hint.as_deref(), Some(NO_FUNCTION_HINT));
        assert_eq!(message("Scalar Function with name foo does not exist!"), "function foo does not exist");
    }

    #[test]
    fn constraint_violations_carry_postgres_details() {
        let mut w = postgres_words("Duplicate key \"a: 1, b: x\" violates primary key constraint.").unwrap();
        assert_eq!(w.message, "duplicate key value violates unique constraint");
        assert_eq!(w.detail.as_deref(), Some("Key (a, b)=(1, x) already exists."));
        constraint_of_statement(&mut w.object, &mut w.message, "insert into Orders values (1, 'x')");
        assert_eq!(w.message, "duplicate key value violates unique constraint \"orders_pkey\"");
        assert_eq!(w.object.constraint.as_deref(), Some("orders_pkey"));
        let mut w = postgres_words("Duplicate key \"email: a@b\" violates unique constraint.").unwrap();
        constraint_of_statement(&mut w.object, &mut w.message, "with x as (select 1) select 2");
        assert_eq!(
            (w.message.as_str(), w.object.constraint),
            ("duplicate key value violates unique constraint", None)
        );
        let w = postgres_words("NOT NULL constraint failed: orders.customer").unwrap();
        assert_eq!(
            w.message,
            "null value in column \"customer\" of relation \"orders\" violates not-null constraint"
        );
        assert_eq!(
            (w.object.table.as_deref(), w.object.column.as_deref()),
            (Some("orders"), Some("customer"))
        );
    }
}
