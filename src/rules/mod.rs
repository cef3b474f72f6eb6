//! Detection: rule packs (YAML), IOC lists, the beacon score and the engine
//! that turns a snapshot into findings inside each refresh.

pub mod beacon;
pub mod ioc;
pub mod schema;
