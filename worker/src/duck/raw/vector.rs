//! A column of a result chunk, read in place: validity, flat values, strings, and the
//! children of nested vectors. Every pointer read here lives as long as its chunk.

use std::ffi::c_char;
use std::marker::PhantomData;

use libduckdb_sys as ffi;

use super::Chunk;
use crate::duck::DecimalStorage;

/// Types whose values DuckDB stores in a flat vector as a plain C array.
pub trait Primitive: Copy + sealed::Sealed {}
mod sealed {
    pub trait Sealed {}
}
macro_rules! primitive {
    ($($t:ty),*) => { $(impl sealed::Sealed for $t {} impl Primitive for $t {})* };
}
primitive!(
    i8,
    i16,
    i32,
    i64,
    u8,
    u16,
    u32,
    u64,
    f32,
    f64,
    ffi::duckdb_interval,
    ffi::duckdb_hugeint,
    ffi::duckdb_uhugeint,
    ffi::duckdb_list_entry
);

/// One column of a chunk (or a child of a list or struct column).
///
/// Its data and validity pointers are read once: a result chunk is never written while
/// it is read, and a value's encoding would otherwise pay two calls into DuckDB.
#[derive(Clone, Copy)]
pub struct Vector<'c> {
    raw: ffi::duckdb_vector,
    len: usize,
    data: *const std::ffi::c_void,
    /// Null when every row is valid.
    validity: *const u64,
    _chunk: PhantomData<&'c Chunk>,
}

impl<'c> Vector<'c> {
    /// A vector of `len` rows, borrowed from the chunk (or parent vector) it lives in.
    pub(super) fn new(raw: ffi::duckdb_vector, len: usize) -> Vector<'c> {
        // SAFETY: raw is a live vector of the chunk this borrows from.
        let (data, validity) = unsafe {
            (ffi::duckdb_vector_get_data(raw).cast_const(), ffi::duckdb_vector_get_validity(raw).cast_const())
        };
        Vector { raw, len, data, validity, _chunk: PhantomData }
    }

    pub fn is_valid(&self, row: usize) -> bool {
        assert!(row < self.len, "row {row} out of {}", self.len);
        // SAFETY: the mask, when present, has a bit for each of the vector's rows.
        self.validity.is_null() || unsafe { (*self.validity.add(row / 64) >> (row % 64)) & 1 == 1 }
    }

    /// The vector's values as a slice; `T` must be the physical type of its logical type.
    pub fn values<T: Primitive>(&self) -> &'c [T] {
        if self.data.is_null() || self.len == 0 {
            return &[];
        }
        // SAFETY: a flat vector's data is an array of `len` physical values; the caller
        // picks T from the logical type, and the slice lives as long as the chunk.
        unsafe { std::slice::from_raw_parts(self.data.cast::<T>(), self.len) }
    }

    /// A HUGEINT value (also the physical type of a wide DECIMAL).
    pub fn hugeint(&self, row: usize) -> i128 {
        let h = self.values::<ffi::duckdb_hugeint>()[row];
        (i128::from(h.upper) << 64) | i128::from(h.lower)
    }

    /// A UHUGEINT value.
    pub fn uhugeint(&self, row: usize) -> u128 {
        let h = self.values::<ffi::duckdb_uhugeint>()[row];
        (u128::from(h.upper) << 64) | u128::from(h.lower)
    }

    /// A DECIMAL's unscaled value, read in the physical type DuckDB stores it as.
    pub fn decimal(&self, row: usize, storage: DecimalStorage) -> i128 {
        match storage {
            DecimalStorage::I16 => i128::from(self.values::<i16>()[row]),
            DecimalStorage::I32 => i128::from(self.values::<i32>()[row]),
            DecimalStorage::I64 => i128::from(self.values::<i64>()[row]),
            DecimalStorage::I128 => self.hugeint(row),
        }
    }

    /// The bytes of a VARCHAR or BLOB value.
    pub fn bytes(&self, row: usize) -> &'c [u8] {
        assert!(row < self.len, "row {row} out of {}", self.len);
        // SAFETY: string vectors hold duckdb_string_t; short strings are stored inline
        // in the struct (inside the vector's memory), long ones point to the vector's heap.
        unsafe {
            let base = self.data.cast::<ffi::duckdb_string_t>();
            let s = &*base.add(row);
            let len = s.value.inlined.length as usize;
            let data = if len <= 12 {
                s.value.inlined.inlined.as_ptr()
            } else {
                s.value.pointer.ptr as *const c_char
            };
            std::slice::from_raw_parts(data as *const u8, len)
        }
    }

    /// A LIST's child vector, holding every list's elements back to back.
    pub fn list_child(&self) -> Vector<'c> {
        // SAFETY: only called on LIST (or MAP) vectors; the child lives with the chunk.
        unsafe {
            let child = ffi::duckdb_list_vector_get_child(self.raw);
            let len = ffi::duckdb_list_vector_get_size(self.raw) as usize;
            Vector::new(child, len)
        }
    }

    /// An ARRAY's child vector: `size` elements per row.
    pub fn array_child(&self, size: u64) -> Vector<'c> {
        // SAFETY: only called on ARRAY vectors of that size.
        let raw = unsafe { ffi::duckdb_array_vector_get_child(self.raw) };
        Vector::new(raw, self.len * size as usize)
    }

    /// A STRUCT's (or MAP entry's) field vector.
    pub fn struct_child(&self, index: usize) -> Vector<'c> {
        // SAFETY: only called on STRUCT vectors with index < their field count.
        let raw = unsafe { ffi::duckdb_struct_vector_get_child(self.raw, index as u64) };
        Vector::new(raw, self.len)
    }
}
