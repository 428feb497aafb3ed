//! Schema migrations. The same migrations run on SQLite and PostgreSQL, so they use only
//! what both understand: UUID ids, text enums checked by the application, timestamps with
//! time zone, and named unique constraints that the API maps to `409`.

pub use sea_orm_migration::prelude::*;

mod helpers;
mod m20261127_000001_foundation;
mod m20261127_000002_places_partners;
mod m20261127_000003_orders;
mod m20261127_000004_closing_the_loop;
mod m20261127_000005_figures;
mod m20261127_000006_worker_indexes;
mod m20261128_000007_figures_at_scale;
mod m20261128_000008_list_indexes;
mod m20261128_000009_figures_covering;
mod m20261204_000010_partner_invitations;
mod m20261205_000011_order_numbers;
mod m20261205_000012_started_at;
mod m20261205_000013_starter_catalogue;
mod m20261205_000014_notifications;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_foundation::Migration),
            Box::new(m20261127_000002_places_partners::Migration),
            Box::new(m20261127_000003_orders::Migration),
            Box::new(m20261127_000004_closing_the_loop::Migration),
            Box::new(m20261127_000005_figures::Migration),
            Box::new(m20261127_000006_worker_indexes::Migration),
            Box::new(m20261128_000007_figures_at_scale::Migration),
            Box::new(m20261128_000008_list_indexes::Migration),
            Box::new(m20261128_000009_figures_covering::Migration),
            Box::new(m20261204_000010_partner_invitations::Migration),
            Box::new(m20261205_000011_order_numbers::Migration),
            Box::new(m20261205_000012_started_at::Migration),
            Box::new(m20261205_000013_starter_catalogue::Migration),
            Box::new(m20261205_000014_notifications::Migration),
        ]
    }
}
