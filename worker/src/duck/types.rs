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
