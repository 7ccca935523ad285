//! ykien ("ý kiến"): Vietnamese local governments hear their citizens commune by commune, the way the PAPI
//! index does. This crate is the service: configuration, start-up, HTTP, domain, services and storage.
//! The chat channels live in `ykien-bots`, the scoring and charts in `ykien-analysis`.

pub mod app;
pub mod cli;
pub mod config;
pub mod conversation;
pub mod domain;
pub mod http;
pub mod services;
pub mod storage;
