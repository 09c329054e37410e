//! One error type for the core; the binding layer maps each kind to PyTorch's exception type.
use std::fmt;

#[derive(Debug, Clone)]
pub enum Error {
    Runtime(String),
    Index(String),
    Type(String),
    Value(String),
    NotImplemented(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Runtime(m) | Error::Index(m) | Error::Type(m) | Error::Value(m) | Error::NotImplemented(m) => f.write_str(m),
        }
    }
}

#[macro_export]
macro_rules! rt_err { ($($t:tt)*) => { $crate::error::Error::Runtime(format!($($t)*)) } }
#[macro_export]
macro_rules! bail { ($($t:tt)*) => { return Err($crate::error::Error::Runtime(format!($($t)*))) } }
#[macro_export]
macro_rules! index_err { ($($t:tt)*) => { $crate::error::Error::Index(format!($($t)*)) } }
#[macro_export]
macro_rules! type_err { ($($t:tt)*) => { $crate::error::Error::Type(format!($($t)*)) } }

/// Wraps a dimension like PyTorch's `maybe_wrap_dim` (IndexError when out of range).
pub fn wrap_dim(dim: i64, ndim: usize) -> Result<usize> {
    let n = ndim.max(1) as i64;
    if dim < -n || dim >= n {
        return Err(Error::Index(format!(
            "Dimension out of range (expected to be in range of [{}, {}], but got {})",
            -n,
            n - 1,
            dim
        )));
    }
    Ok(if dim < 0 { (dim + n) as usize } else { dim as usize })
}
