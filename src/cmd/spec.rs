//! `necromap spec`.

use anyhow::Result;

use crate::cmd::cli::SpecAction;
use necromap::spec::{EMBEDDED_SPEC, Spec};

pub fn spec_command(action: &SpecAction) -> Result<()> {
    match action {
        SpecAction::Print => print!("{EMBEDDED_SPEC}"),
        SpecAction::Check { file } => {
            let spec = match file {
                Some(path) => Spec::from_file(path)?,
                None => Spec::embedded(),
            };
            println!(
                "ok: {} node types, {} edge types, {} states, {} views",
                spec.node_types.iter().count(),
                spec.edge_types.iter().count(),
                spec.states.len(),
                spec.views.len()
            );
        }
    }
    Ok(())
}
