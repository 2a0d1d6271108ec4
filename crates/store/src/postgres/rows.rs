//! What every PostgreSQL module of the store shares to read and write rows:
//! the caller's transaction, which each domain's row trait is implemented
//! on, and a row read into a tuple of its columns in order.

use ::postgres::types::FromSql;
use ::postgres::{Row, Transaction};

use crate::StoreError;

/// The caller's transaction, on which each area's row trait (accounts,
/// evidence, licences, end users, screening) is implemented, so one
/// transaction serves rules that span areas.
pub(super) struct Pg<'a, 'b>(pub(super) &'a mut Transaction<'b>);

/// A row's columns, in order, as a tuple of the types the rules read.
pub(super) trait Columns: Sized {
    /// The tuple, or the column that does not convert.
    fn from_row(r: &Row) -> Result<Self, StoreError>;
}

macro_rules! columns {
    ($($t:ident $i:tt),+) => {
        impl<$($t),+> Columns for ($($t,)+)
        where
            $($t: for<'r> FromSql<'r>,)+
        {
            fn from_row(r: &Row) -> Result<Self, StoreError> {
                Ok(($(r.try_get::<_, $t>($i)?,)+))
            }
        }
    };
}
columns!(A 0, B 1);
columns!(A 0, B 1, C 2, D 3, E 4);
columns!(A 0, B 1, C 2, D 3, E 4, F 5);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15);
columns!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11, M 12, N 13, O 14, P 15, Q 16);

/// Reads `r` into the tuple `T`.
pub(super) fn columns<T: Columns>(r: &Row) -> Result<T, StoreError> {
    T::from_row(r)
}
