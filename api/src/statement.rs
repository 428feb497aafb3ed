//! Statements built once per shape and bound per request. Building a statement's tree with
//! sea-query and printing it is most of the CPU of a short read (an order's read is some
//! 3 KB of SQL); a [`Template`] keeps the text and, for each of its values, which parameter
//! it is or the constant it stays. The same text also lets the driver reuse its prepared
//! statement.

use std::sync::OnceLock;

use sea_orm::{DatabaseBackend, Statement, Value};
use uuid::Uuid;

/// A statement's text and how to bind it.
pub struct Template {
    backend: DatabaseBackend,
    sql: String,
    slots: Vec<Slot>,
}

enum Slot {
    /// The parameter with this index.
    Param(usize),
    Const(Value),
}

/// The stand-in for parameter `i` while a template is built: an id no real row has.
fn stand_in(i: usize) -> Uuid {
    Uuid::from_u128(0x5e47_1e00_0000_4000_8000_0000_0000_0000 + i as u128)
}

impl Template {
    /// Builds the template of a statement with `params` id parameters: `build` gets their
    /// stand-ins and builds the statement as it would for real ids.
    pub fn new<const P: usize>(build: impl FnOnce([Uuid; P]) -> Statement) -> Self {
        let stand_ins: [Uuid; P] = std::array::from_fn(stand_in);
        let built = build(stand_ins);
        let slots = built
            .values
            .map(|v| v.0)
            .unwrap_or_default()
            .into_iter()
            .map(|v| match stand_ins.iter().position(|id| v == Value::from(*id)) {
                Some(i) => Slot::Param(i),
                None => Slot::Const(v),
            })
            .collect();
        Self { backend: built.db_backend, sql: built.sql, slots }
    }

    /// The statement for these parameters.
    pub fn bind<const P: usize>(&self, params: [Uuid; P]) -> Statement {
        let values = self.slots.iter().map(|slot| match slot {
            Slot::Param(i) => Value::from(params[*i]),
            Slot::Const(v) => v.clone(),
        });
        Statement::from_sql_and_values(self.backend, self.sql.clone(), values)
    }
}

/// `N` templates, one per shape, each built on its first use; no lock once built.
pub struct Templates<const N: usize>([OnceLock<Template>; N]);

impl<const N: usize> Templates<N> {
    pub const fn new() -> Self {
        Self([const { OnceLock::new() }; N])
    }

    /// The template of shape `shape` (below `N`), built by `build` the first time.
    pub fn get(&self, shape: usize, build: impl FnOnce() -> Template) -> &Template {
        self.0[shape].get_or_init(build)
    }
}

impl<const N: usize> Default for Templates<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// A backend as an index for a shape: PostgreSQL 0, SQLite 1, any other 2.
pub fn backend_index(backend: DatabaseBackend) -> usize {
    match backend {
        DatabaseBackend::Postgres => 0,
        DatabaseBackend::Sqlite => 1,
        _ => 2,
    }
}

/// SQLite statements run as one batch of one query (one hand-off to the connection's
/// thread): their texts joined by `;`, their values in order.
pub fn sqlite_batch(parts: Vec<Statement>) -> Statement {
    let sql = parts.iter().map(|p| p.sql.as_str()).collect::<Vec<_>>().join(";\n");
    let values = parts.into_iter().flat_map(|p| p.values.map(|v| v.0).unwrap_or_default()).collect::<Vec<_>>();
    Statement::from_sql_and_values(DatabaseBackend::Sqlite, sql, values)
}
