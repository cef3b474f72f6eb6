//! `necromap rules check|suggest|score`.

use anyhow::{Context, Result};
use necromap::rules::{Engine, RuleSet};

use super::setup::{load_ioc, load_spec};
use super::snapshot::one_snapshot;
use crate::cmd::cli::{Cli, RulesAction};

pub fn rules_command(cli: &Cli, action: &RulesAction) -> Result<()> {
    match action {
        RulesAction::Check { dir } => {
            let dir = dir.as_deref().or(cli.rules.as_deref());
            let set = RuleSet::load(dir, cli.rules_replace)?;
            let report = necromap::rules::lint::check(&set);
            print!("{}", necromap::rules::lint::render(&set, &report));
            // The login rules (`--login-rules FILE`, else the shipped file) are checked too:
            // a file that does not load is an error with its file and line.
            let logins = match cli.login_rules.as_deref() {
                Some(path) => necromap::logins::rules::LoginRules::load(path).map(|r| (path.display().to_string(), r.all().len())),
                None => Ok(("the shipped login rules".to_string(), necromap::logins::rules::LoginRules::embedded().all().len())),
            };
            let login_error = match logins {
                Ok((file, n)) => {
                    println!("login rules: {n} rules from {file}: ok");
                    false
                }
                Err(e) => {
                    println!("login rules: error: {e}");
                    true
                }
            };
            if report.has_errors() || login_error {
                std::process::exit(1);
            }
        }
        RulesAction::Suggest { description, from_socket } => {
            let draft = match from_socket {
                Some(id) => {
                    let key: necromap::model::SocketKey = id.parse().map_err(anyhow::Error::msg)?;
                    let snapshot = one_snapshot(cli, load_spec(cli)?, None)?;
                    let socket = snapshot
                        .socket(key)
                        .with_context(|| format!("--from-socket {id}: no such socket in this snapshot (ids come from `necromap snapshot`)"))?;
                    necromap::rules::suggest::suggest(description, Some((socket, &snapshot)))?
                }
                None => necromap::rules::suggest::suggest(description, None)?,
            };
            print!("{draft}");
        }
        RulesAction::Score { manifests } => {
            let manifests = manifests.iter().map(|p| necromap::rules::corpus::Manifest::load(p)).collect::<Result<Vec<_>, _>>()?;
            // The corpora come from other hosts: no saved baseline of this one.
            let rules = RuleSet::load(cli.rules.as_deref(), cli.rules_replace)?;
            let ioc = load_ioc(cli)?;
            let card = necromap::rules::corpus::score(&manifests, &load_spec(cli)?, &|| Engine::new(rules.clone(), ioc.clone()))?;
            print!("{}", card.render());
            if !card.passed() {
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
