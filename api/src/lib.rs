//! Shenbian (身边): the neighbourhood service marketplace server.
//!
//! `app` builds the HTTP application; `RunningServer` serves it. The rules live in the
//! `shenbian-domain` crate; this crate applies them in transactions and speaks HTTP.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod categories;
pub mod cli;
pub mod config;
pub mod contracts;
pub mod crypto;
pub mod dates;
pub mod db;
pub mod demo;
pub mod eligibility;
pub mod entity;
pub mod erasure;
pub mod error;
pub mod exports;
pub mod extract;
pub mod hours;
pub mod invitations;
pub mod lang;
pub mod me;
pub mod metrics;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod orders;
pub mod pagination;
pub mod partner_members;
pub mod partners;
pub mod performance;
pub mod places;
pub mod privacy;
pub mod ratings;
pub mod readers;
pub mod state;
pub mod statement;
pub mod stats;
pub mod telemetry;
pub mod users;
pub mod vetting;
pub mod views;
pub mod volunteers;
pub mod web;
pub mod webhooks;
pub mod worker;

pub use app::RunningServer;

/// The version of this build, as `/metrics` reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub use config::Settings;
