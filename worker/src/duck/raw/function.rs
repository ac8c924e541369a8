//! Scalar functions implemented in Rust and registered with DuckDB's C API, for what SQL
//! must reach outside DuckDB (the advisory locks shared by every worker, the session's
//! settings). Each call learns the DuckDB connection that bound it, so a function can act
//! for its session.

use std::ffi::{c_void, CString};

use libduckdb_sys as ffi;

use super::{c_string, internal, Connection};
use crate::duck::DuckError;

/// A parameter type of a registered function.
#[derive(Debug, Clone, Copy)]
pub enum Param {
    BigInt,
    Integer,
    Boolean,
    Varchar,
}

/// One argument of one call: integers as `i64`; `Null` only reaches functions that are
/// not [`Strictness::Strict`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg<'a> {
    Int(i64),
    Bool(bool),
    Text(&'a str),
    Null,
}

impl Arg<'_> {
    /// The integer value (0 for any other argument).
    pub fn int(self) -> i64 {
        match self {
            Arg::Int(v) => v,
            _ => 0,
        }
    }
}

/// What a registered function returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Returns {
    BigInt,
    Boolean,
    /// PostgreSQL's `void`: an empty text value.
    Void,
    Varchar,
}

/// What one call returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// For `BigInt` functions.
    Int(i64),
    /// For `Boolean` functions; ignored by `Void` ones.
    Bool(bool),
    Text(String),
}

/// Whether a NULL argument makes the result NULL without a call (a strict PostgreSQL
/// function), or reaches the function as [`Arg::Null`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    Strict,
    CalledOnNull,
}

/// One row's work: the DuckDB connection id of the caller and the arguments, to the
/// result or an error message.
pub type RowFn = fn(connection_id: u64, args: &[Arg<'_>]) -> Result<Output, String>;

struct Overload {
    params: Vec<Param>,
    returns: Returns,
    strictness: Strictness,
    call: RowFn,
}

/// Registers `name` with these overloads in the connection's database. The functions
/// are volatile: DuckDB calls them for every row and never folds them into a constant.
pub fn register(
    conn: &Connection,
    name: &str,
    overloads: &[(&[Param], Returns)],
    strictness: Strictness,
    call: RowFn,
) -> Result<(), DuckError> {
    let c_name = c_string(name)?;
    // SAFETY: the name is NUL-terminated; the set is destroyed below after registering.
    let mut set = unsafe { ffi::duckdb_create_scalar_function_set(c_name.as_ptr()) };
    let mut outcome = Ok(());
    for (params, returns) in overloads {
        let overload = Box::new(Overload { params: params.to_vec(), returns: *returns, strictness, call });
        // SAFETY: each handle is created, configured and destroyed here; the set copies
        // the function when it is added. The extra info is owned by DuckDB from now on
        // and freed by `drop_overload`.
        unsafe {
            let mut f = ffi::duckdb_create_scalar_function();
            ffi::duckdb_scalar_function_set_name(f, c_name.as_ptr());
            for p in params.iter() {
                let mut ty = ffi::duckdb_create_logical_type(match p {
                    Param::BigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
                    Param::Integer => ffi::DUCKDB_TYPE_DUCKDB_TYPE_INTEGER,
                    Param::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
                    Param::Varchar => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
                });
                ffi::duckdb_scalar_function_add_parameter(f, ty);
                ffi::duckdb_destroy_logical_type(&mut ty);
            }
            let mut ty = ffi::duckdb_create_logical_type(match returns {
                Returns::BigInt => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BIGINT,
                Returns::Boolean => ffi::DUCKDB_TYPE_DUCKDB_TYPE_BOOLEAN,
                Returns::Void | Returns::Varchar => ffi::DUCKDB_TYPE_DUCKDB_TYPE_VARCHAR,
            });
            ffi::duckdb_scalar_function_set_return_type(f, ty);
            ffi::duckdb_destroy_logical_type(&mut ty);
            ffi::duckdb_scalar_function_set_volatile(f);
            // NULL arguments reach `execute`, which applies the strictness.
            ffi::duckdb_scalar_function_set_special_handling(f);
            ffi::duckdb_scalar_function_set_extra_info(
                f,
                Box::into_raw(overload).cast(),
                Some(drop_overload),
            );
            ffi::duckdb_scalar_function_set_bind(f, Some(bind));
            ffi::duckdb_scalar_function_set_function(f, Some(execute));
            if ffi::duckdb_add_scalar_function_to_set(set, f) != ffi::duckdb_state_DuckDBSuccess {
                outcome = Err(internal(&format!("could not add an overload of {name}")));
            }
            ffi::duckdb_destroy_scalar_function(&mut f);
        }
    }
    // SAFETY: the connection is open; the set is valid and destroyed once.
    unsafe {
        if outcome.is_ok()
            && ffi::duckdb_register_scalar_function_set(conn.handle(), set) != ffi::duckdb_state_DuckDBSuccess
        {
            outcome = Err(internal(&format!("could not register {name}")));
        }
        ffi::duckdb_destroy_scalar_function_set(&mut set);
    }
    outcome
}

unsafe extern "C" fn drop_overload(data: *mut c_void) {
    // SAFETY: `data` is the Box::into_raw of an Overload in `register`, freed once.
    drop(unsafe { Box::from_raw(data.cast::<Overload>()) });
}

unsafe extern "C" fn drop_connection_id(data: *mut c_void) {
    // SAFETY: `data` is the Box::into_raw of a u64 in `bind` or `copy_connection_id`.
    drop(unsafe { Box::from_raw(data.cast::<u64>()) });
}

unsafe extern "C" fn copy_connection_id(data: *mut c_void) -> *mut c_void {
    // SAFETY: `data` is a live boxed u64 made by `bind`.
    let id = unsafe { *data.cast::<u64>() };
    Box::into_raw(Box::new(id)).cast()
}

/// Remembers which connection bound the call: its statements are its session's.
unsafe extern "C" fn bind(info: ffi::duckdb_bind_info) {
    let mut context: ffi::duckdb_client_context = std::ptr::null_mut();
    // SAFETY: `info` is the bind info DuckDB passes; the context is destroyed after use,
    // and the bind data is handed to DuckDB with its destroy and copy callbacks.
    unsafe {
        ffi::duckdb_scalar_function_get_client_context(info, &mut context);
        let id = ffi::duckdb_client_context_get_connection_id(context);
        ffi::duckdb_destroy_client_context(&mut context);
        ffi::duckdb_scalar_function_set_bind_data(
            info,
            Box::into_raw(Box::new(id)).cast(),
            Some(drop_connection_id),
        );
        ffi::duckdb_scalar_function_set_bind_data_copy(info, Some(copy_connection_id));
    }
}

unsafe extern "C" fn execute(
    info: ffi::duckdb_function_info,
    input: ffi::duckdb_data_chunk,
    output: ffi::duckdb_vector,
) {
    // SAFETY: DuckDB passes the extra info and bind data set in `register` and `bind`,
    // a flattened input chunk whose vectors hold the declared parameter types, and an
    // output vector of the declared return type with room for every input row.
    unsafe {
        let overload = &*ffi::duckdb_scalar_function_get_extra_info(info).cast::<Overload>();
        let connection_id = *ffi::duckdb_scalar_function_get_bind_data(info).cast::<u64>();
        let rows = ffi::duckdb_data_chunk_get_size(input) as usize;
        let columns: Vec<(ffi::duckdb_vector, *mut u64)> = (0..overload.params.len())
            .map(|c| {
                let v = ffi::duckdb_data_chunk_get_vector(input, c as u64);
                (v, ffi::duckdb_vector_get_validity(v))
            })
            .collect();
        let mut args = vec![Arg::Null; overload.params.len()];
        for row in 0..rows {
            let mut null = false;
            for (c, (vector, validity)) in columns.iter().enumerate() {
                if !validity.is_null() && !ffi::duckdb_validity_row_is_valid(*validity, row as u64) {
                    args[c] = Arg::Null;
                    null = true;
                    continue;
                }
                let data = ffi::duckdb_vector_get_data(*vector);
                args[c] = match overload.params[c] {
                    Param::BigInt => Arg::Int(*data.cast::<i64>().add(row)),
                    Param::Integer => Arg::Int(i64::from(*data.cast::<i32>().add(row))),
                    Param::Boolean => Arg::Bool(*data.cast::<bool>().add(row)),
                    Param::Varchar => {
                        let string = data.cast::<ffi::duckdb_string_t>().add(row);
                        let len = ffi::duckdb_string_t_length(*string) as usize;
                        let bytes =
                            std::slice::from_raw_parts(ffi::duckdb_string_t_data(string).cast::<u8>(), len);
                        // DuckDB's VARCHAR is UTF-8.
                        Arg::Text(std::str::from_utf8(bytes).unwrap_or_default())
                    }
                };
            }
            if null && overload.strictness == Strictness::Strict {
                ffi::duckdb_vector_ensure_validity_writable(output);
                ffi::duckdb_validity_set_row_invalid(ffi::duckdb_vector_get_validity(output), row as u64);
                continue;
            }
            match (overload.call)(connection_id, &args) {
                Ok(Output::Int(value)) if overload.returns == Returns::BigInt => {
                    *ffi::duckdb_vector_get_data(output).cast::<i64>().add(row) = value;
                }
                Ok(Output::Bool(value)) if overload.returns == Returns::Boolean => {
                    *ffi::duckdb_vector_get_data(output).cast::<bool>().add(row) = value;
                }
                Ok(Output::Text(text)) if overload.returns == Returns::Varchar => {
                    ffi::duckdb_vector_assign_string_element_len(
                        output,
                        row as u64,
                        text.as_ptr().cast(),
                        text.len() as u64,
                    );
                }
                Ok(_) => ffi::duckdb_vector_assign_string_element_len(output, row as u64, c"".as_ptr(), 0),
                Err(message) => {
                    let message = CString::new(message.replace('\0', " ")).unwrap_or_default();
                    ffi::duckdb_scalar_function_set_error(info, message.as_ptr());
                    return;
                }
            }
        }
    }
}

impl Connection {
    /// DuckDB's id of this connection, which registered functions see as their caller.
    pub fn id(&self) -> u64 {
        let mut context: ffi::duckdb_client_context = std::ptr::null_mut();
        // SAFETY: the connection is open; the context is destroyed after use.
        unsafe {
            ffi::duckdb_connection_get_client_context(self.handle(), &mut context);
            let id = ffi::duckdb_client_context_get_connection_id(context);
            ffi::duckdb_destroy_client_context(&mut context);
            id
        }
    }
}
