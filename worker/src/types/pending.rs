//! Stand-ins until the binary codecs land (same signatures).

use mallard_protocol::pg::SqlState;

use super::oid;
use crate::duck::{LogicalType, Value, Vector};

#[derive(Debug)]
pub struct ValueError {
    pub code: SqlState,
    pub message: String,
}

pub fn encode_binary(ty: &LogicalType, v: &Vector<'_>, row: usize, out: &mut Vec<u8>) {
    super::encode_text(ty, v, row, out)
}

pub fn decode_binary(_oid: u32, _bytes: &[u8]) -> Result<Value, ValueError> {
    Err(ValueError {
        code: SqlState::FEATURE_NOT_SUPPORTED,
        message: "binary parameters are not supported yet".into(),
    })
}

pub fn decode_text(_oid: u32, text: &str) -> Result<Value, ValueError> {
    Ok(Value::Text(text.to_owned()))
}

pub fn logical_type_for_oid(o: u32) -> Option<LogicalType> {
    Some(match o {
        oid::BOOL => LogicalType::Boolean,
        oid::INT2 => LogicalType::SmallInt,
        oid::INT4 => LogicalType::Integer,
        oid::INT8 => LogicalType::BigInt,
        oid::FLOAT4 => LogicalType::Float,
        oid::FLOAT8 => LogicalType::Double,
        oid::TEXT | oid::VARCHAR => LogicalType::Varchar,
        _ => return None,
    })
}
