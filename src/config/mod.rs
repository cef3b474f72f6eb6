//! necromap's settings: defaults, the config file, `NECROMAP_*` variables
//! and flags, each layer over the one before. Knows no front end: the
//! binary maps the values onto its options.

pub mod values;
