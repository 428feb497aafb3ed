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

/// The stand-in for a `LIMIT` while a template is built: a count no page asks for.
pub const LIMIT_STAND_IN: u64 = 0x5e47_1e00;

impl Template {
    /// Builds the template of a statement with `params` id parameters: `build` gets their
    /// stand-ins and builds the statement as it would for real ids.
    pub fn new<const P: usize>(build: impl FnOnce([Uuid; P]) -> Statement) -> Self {
        let stand_ins: [Uuid; P] = std::array::from_fn(stand_in);
        Self::with_stand_ins(&stand_ins.map(Value::from), || build(stand_ins))
    }

    /// Builds the template of a statement with `P` id parameters and a `LIMIT`: `build` gets
    /// the ids' stand-ins and [`LIMIT_STAND_IN`].
    pub fn with_limit<const P: usize>(build: impl FnOnce([Uuid; P], u64) -> Statement) -> Self {
        let stand_ins: [Uuid; P] = std::array::from_fn(stand_in);
        let values: Vec<Value> =
            stand_ins.iter().map(|id| Value::from(*id)).chain([Value::from(LIMIT_STAND_IN)]).collect();
        Self::with_stand_ins(&values, || build(stand_ins, LIMIT_STAND_IN))
    }

    /// The template of the statement `build` builds with the parameters' `stand_ins`: a value
    /// equal to stand-in `i` is parameter `i`, any other value a constant.
    fn with_stand_ins(stand_ins: &[Value], build: impl FnOnce() -> Statement) -> Self {
        let built = build();
        let slots = built
            .values
            .map(|v| v.0)
            .unwrap_or_default()
            .into_iter()
            .map(|v| match stand_ins.iter().position(|s| *s == v) {
                Some(i) => Slot::Param(i),
                None => Slot::Const(v),
            })
            .collect();
        Self { backend: built.db_backend, sql: built.sql, slots }
    }

    /// The statement for these parameters.
    pub fn bind<const P: usize>(&self, params: [Uuid; P]) -> Statement {
        self.bind_values(&params.map(Value::from))
    }

    /// The statement for these ids and this `LIMIT` ([`Template::with_limit`]).
    pub fn bind_with_limit<const P: usize>(&self, params: [Uuid; P], limit: u64) -> Statement {
        let values: Vec<Value> = params.iter().map(|id| Value::from(*id)).chain([Value::from(limit)]).collect();
        self.bind_values(&values)
    }

    fn bind_values(&self, params: &[Value]) -> Statement {
        let values = self.slots.iter().map(|slot| match slot {
            Slot::Param(i) => params[*i].clone(),
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
