//! The network-map spec: node and edge types, state styles, layout and
//! views, loaded from `specs/network_map.yaml` (embedded) or `--spec FILE`.

mod load;
mod types;

pub(crate) use load::yaml_error;
pub use load::{EMBEDDED_NAME, EMBEDDED_SPEC, SpecError, line_of_key};
pub use types::*;
