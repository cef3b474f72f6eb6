//! Detection: rule packs (YAML), IOC lists, the beacon score and the engine
//! that turns a snapshot into findings inside each refresh.
//!
//! ```text
//! rules/*.yaml ─load─► RuleSet ─┐
//! --ioc FILE  ─────────► IocSet ─┼─► Engine (model::Evaluator) ─► Vec<Finding> in the snapshot
//! History (starts) ─► beacon ────┘
//! ```

pub mod beacon;
mod bounds;
mod candidates;
mod condition;
mod conditions;
pub mod corpus;
pub mod describe;
mod early;
pub mod engine;
mod explain;
pub mod ioc;
mod item;
pub mod lint;
pub mod load;
mod reach;
mod regex_list;
pub mod schema;
pub mod suggest;
mod values;

pub use engine::Engine;
pub use ioc::IocSet;
pub use load::{RuleError, RuleSet};
