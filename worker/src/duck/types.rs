//! DuckDB logical types as an owned tree, read once per result from the C API.

/// How a DECIMAL is stored, which decides how its vector is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalStorage {
    I16,
    I32,
    I64,
    I128,
}

/// A DuckDB logical type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicalType {
    Boolean,
    TinyInt,
    SmallInt,
    Integer,
    BigInt,
    HugeInt,
    UTinyInt,
    USmallInt,
    UInteger,
    UBigInt,
    UHugeInt,
    Float,
    Double,
    Decimal {
        width: u8,
        scale: u8,
        storage: DecimalStorage,
    },
    Varchar,
    /// VARCHAR with the alias `JSON`.
    Json,
    /// JSON that a table column declared `jsonb` holds: DuckDB never reports it; a result
    /// column takes it from the table column it is (`Column::origin`), and is then
    /// PostgreSQL's jsonb (3802), whose binary form starts with a version byte.
    Jsonb,
    Blob,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampS,
    TimestampMs,
    TimestampNs,
    TimestampTz,
    Interval,
    Uuid,
    /// The dictionary, indexed by the stored value.
    Enum {
        storage: EnumStorage,
        values: Vec<String>,
    },
    List(Box<LogicalType>),
    /// PostgreSQL's `int2vector` (`oid` 22) and `oidvector` (30), printed `0 1`: what
    /// SQLAlchemy reads `pg_index.indoption` as, and DBeaver `indkey`. DuckDB has no such
    /// types and drops the names of user types from results, and its list functions
    /// refuse aliased lists; so the catalog writes these columns as lists of USMALLINT
    /// and UHUGEINT, types nothing else in it uses, and every such list is reported so
    /// (a user's USMALLINT[] or UHUGEINT[] column too). UINTEGER is `oid` itself, and a
    /// list of it `oid[]`, which asyncpg's type introspection must get back (it has a
    /// built-in codec for oid[], not for oidvector).
    Vector {
        child: Box<LogicalType>,
        oid: u32,
    },
    Array {
        child: Box<LogicalType>,
        size: u64,
    },
    Struct(Vec<(String, LogicalType)>),
    Map {
        key: Box<LogicalType>,
        value: Box<LogicalType>,
    },
    /// A literal NULL (`select null`).
    Null,
    /// Anything else, by its `duckdb_type` id; sent as text through DuckDB's own cast.
    Other(u32),
}

/// The index type of an ENUM's vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumStorage {
    U8,
    U16,
    U32,
}

impl LogicalType {
    /// The type's name in DuckDB SQL, for casts; `None` for types without one
    /// (ENUMs, which need their dictionary).
    pub fn sql_name(&self) -> Option<String> {
        use LogicalType as L;
        Some(match self {
            L::Boolean => "BOOLEAN".into(),
            L::TinyInt => "TINYINT".into(),
            L::SmallInt => "SMALLINT".into(),
            L::Integer => "INTEGER".into(),
            L::BigInt => "BIGINT".into(),
            L::HugeInt => "HUGEINT".into(),
            L::UTinyInt => "UTINYINT".into(),
            L::USmallInt => "USMALLINT".into(),
            L::UInteger => "UINTEGER".into(),
            L::UBigInt => "UBIGINT".into(),
            L::UHugeInt => "UHUGEINT".into(),
            L::Float => "FLOAT".into(),
            L::Double => "DOUBLE".into(),
            L::Decimal { width, scale, .. } => format!("DECIMAL({width},{scale})"),
            L::Varchar => "VARCHAR".into(),
            L::Json | L::Jsonb => "JSON".into(),
            L::Blob => "BLOB".into(),
            L::Date => "DATE".into(),
            L::Time => "TIME".into(),
            L::TimeTz => "TIMETZ".into(),
            L::Timestamp => "TIMESTAMP".into(),
            L::TimestampS => "TIMESTAMP_S".into(),
            L::TimestampMs => "TIMESTAMP_MS".into(),
            L::TimestampNs => "TIMESTAMP_NS".into(),
            L::TimestampTz => "TIMESTAMPTZ".into(),
            L::Interval => "INTERVAL".into(),
            L::Uuid => "UUID".into(),
            L::List(child) | L::Vector { child, .. } => format!("{}[]", child.sql_name()?),
            L::Array { child, size } => format!("{}[{size}]", child.sql_name()?),
            L::Struct(fields) => {
                let fields = fields
                    .iter()
                    .map(|(n, t)| Some(format!("\"{}\" {}", n.replace('"', "\"\""), t.sql_name()?)))
                    .collect::<Option<Vec<_>>>()?;
                format!("STRUCT({})", fields.join(", "))
            }
            L::Map { key, value } => format!("MAP({}, {})", key.sql_name()?, value.sql_name()?),
            L::Null => "NULL".into(),
            L::Enum { .. } | L::Other(_) => return None,
        })
    }
}
