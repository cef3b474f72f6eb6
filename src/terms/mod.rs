//! The terms every layer speaks: severity, address zone, transport
//! protocol and socket state. A leaf: it imports no other module of the
//! crate, so the spec, the model and the collectors can all use it without
//! importing each other.

mod severity;
mod socket_state;
mod zone;

pub use severity::Severity;
pub use socket_state::{Protocol, SocketState};
pub use zone::{Zone, normalize_addr, normalize_ip};
