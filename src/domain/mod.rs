//! The domain types of ykien, free of HTTP and database types: parse at the edges into these.

pub mod units;
