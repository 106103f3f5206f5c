//! `action completions` and `action man`: shell completions and manual
//! pages generated from the very clap definitions the command parses with,
//! so that they never drift from it.

use crate::Status;
use crate::output::write_out_bytes;
use anyhow::Context as _;
use clap::{Args, CommandFactory as _};
use clap_complete::Shell;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub(crate) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell.
    shell: Shell,
}

/// Writes the completion script to standard output, e.g.
/// `action completions bash > ~/.local/share/bash-completion/completions/action`.
pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<Status> {
    let mut command = crate::Cli::command();
    // Rendered in memory first: the generator panics on a write error, and a
    // closed pipe must end the command quietly.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "action", &mut script);
    write_out_bytes(&script);
    Ok(Status::Ok)
}

#[derive(Args, Debug)]
pub(crate) struct ManArgs {
    /// Write a page per command (action.1, action-list.1, action-admin-tenants-create.1, ...)
    /// into this folder instead of action(1) to standard output.
    #[arg(long)]
    out_dir: Option<PathBuf>,
}

pub(crate) fn man(args: &ManArgs) -> anyhow::Result<Status> {
    let command = crate::Cli::command();
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("writing the manual pages to {}", dir.display()))?;
            eprintln!("wrote the manual pages to {}", dir.display());
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command).render(&mut page)?;
            write_out_bytes(&page);
        }
    }
    Ok(Status::Ok)
}
