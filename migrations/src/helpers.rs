//! Small builders the migrations share.

use sea_orm_migration::prelude::*;

/// A named foreign key from `(table, column)` to `(table, column)`.
pub fn fk(
    name: &str,
    from: (&'static str, &'static str),
    to: (&'static str, &'static str),
) -> ForeignKeyCreateStatement {
    ForeignKey::create().name(name).from(from.0, from.1).to(to.0, to.1).to_owned()
}

/// A named, non-unique index on columns of a table.
pub fn index(name: &str, table: &'static str, cols: &[&'static str]) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for col in cols {
        stmt.col(*col);
    }
    stmt.to_owned()
}

/// A primary key over two columns.
pub fn pair_key(a: &'static str, b: &'static str) -> IndexCreateStatement {
    Index::create().col(a).col(b).primary().to_owned()
}
