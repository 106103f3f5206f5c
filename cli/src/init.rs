//! `action init`: a ready package from one of the starters, with the
//! TypeScript declarations wired so that an editor completes `event.` and
//! `api.`.

use crate::Status;
use actions_proto::manifest::{MANIFEST_FILE, Manifest, SLUG_RULE, is_valid_slug};
use anyhow::{Context as _, bail};
use clap::Args;
use std::path::{Path, PathBuf};

/// A file of a starter: its path in the package and its bytes.
type StarterFile = (&'static str, &'static [u8]);
/// A starter: its name and its files.
type Starter = (&'static str, &'static [StarterFile]);

include!(concat!(env!("OUT_DIR"), "/starters.rs"));

/// Where the starters import the declarations from, in this repository.
const REPOSITORY_TYPES: &str = "'../../../../javy-shims/types/actions'";

#[derive(Args, Debug)]
pub(crate) struct InitArgs {
    /// The folder to create (must not exist, or be empty).
    dir: PathBuf,
    /// What to start from.
    #[arg(long, default_value = "empty", value_parser = ["empty", "domain-allowlist", "webhook-emit", "custom-claim"])]
    starter: String,
    /// The Action's slug (default: the folder's name).
    #[arg(long)]
    slug: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

const TSCONFIG: &str = r#"{
  "compilerOptions": {
    "target": "ES2022",
    "module": "ES2022",
    "moduleResolution": "bundler",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": true
  },
  "include": ["src", "types"]
}
"#;

fn readme(slug: &str) -> String {
    format!(
        "# {slug}\n\nAn Action: `src/index.ts` exports `execute(event, api)`. `types/actions.d.ts` \
         declares `event` and `api` for your editor; `action.json` names the Action, its \
         triggers, its config schema and the secrets it reads (`\"secrets\": [\"API_KEY\"]`, \
         read as `event.secrets.API_KEY`; `types/secrets.d.ts` is written from them).\n\n\
         ```sh\naction test .                 # every case in tests/\n\
         action test . --event events/<file>.json --secrets secrets.json   # local test values\n\
         action pack .                 # dist/{slug}.tar.gz\n\
         action upload .               # create it, or save a new version (bump \"version\" in action.json)\n\
         action secret set {slug} API_KEY < key.txt   # a value per secret, before publishing\n\
         action publish {slug}\naction attach login post-login {slug} --config config.json\n```\n"
    )
}

/// A slug from a folder name: lower-case letters, digits and '-'.
fn slug_of(name: &str) -> String {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    while slug.contains("--") {
        slug = slug.replace("--", "-");
    }
    // Cut before trimming: a cut can leave a '-' at the end.
    let slug: String = slug.trim_matches('-').chars().take(64).collect();
    slug.trim_end_matches('-').to_owned()
}

pub(crate) fn run(args: &InitArgs) -> anyhow::Result<Status> {
    if args.dir.exists()
        && std::fs::read_dir(&args.dir)
            .with_context(|| format!("reading {}", args.dir.display()))?
            .next()
            .is_some()
    {
        bail!(
            "{} exists and is not empty; choose a new folder",
            args.dir.display()
        );
    }
    let (_, files) = STARTERS
        .iter()
        .find(|(name, _)| *name == args.starter)
        .with_context(|| format!("no starter {:?}", args.starter))?;
    let name = args
        .dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.starter.clone());
    let slug = args.slug.clone().unwrap_or_else(|| slug_of(&name));
    if slug.is_empty() {
        bail!("cannot make a slug of {name:?}; pass --slug");
    }
    if !is_valid_slug(&slug) {
        bail!("--slug {slug:?} is not a valid slug: {SLUG_RULE}");
    }
    let write = |path: &Path, bytes: &[u8]| -> anyhow::Result<()> {
        let target = args.dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))
    };
    for (path, bytes) in files.iter() {
        let bytes: Vec<u8> = if path.ends_with(".ts") {
            String::from_utf8_lossy(bytes)
                .replace(REPOSITORY_TYPES, "'../types/actions'")
                .into_bytes()
        } else if *path == MANIFEST_FILE {
            let mut manifest =
                Manifest::parse(&format!("the {} starter's {path}", args.starter), bytes)?;
            manifest.slug = slug.clone();
            // As the control plane names an Action given no name.
            manifest.name = match name.trim() {
                "" => slug.clone(),
                trimmed => trimmed.to_owned(),
            };
            manifest.to_json_pretty().into_bytes()
        } else {
            bytes.to_vec()
        };
        write(Path::new(path), &bytes)?;
    }
    write(Path::new("types/actions.d.ts"), ACTIONS_D_TS.as_bytes())?;
    crate::secret_types::refresh(&args.dir)?;
    write(Path::new("tsconfig.json"), TSCONFIG.as_bytes())?;
    write(Path::new("README.md"), readme(&slug).as_bytes())?;
    if !args.dir.join("config.json").exists() {
        write(Path::new("config.json"), b"{}\n")?;
    }
    if args.json {
        crate::output::print_json(&serde_json::json!({
            "dir": args.dir,
            "starter": args.starter,
            "slug": slug,
        }));
    } else {
        crate::outln!(
            "created {} from the {} starter (slug {slug}); try: action test {}",
            args.dir.display(),
            args.starter,
            args.dir.display()
        );
    }
    Ok(Status::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slug_of_gives_a_valid_slug_or_nothing() {
        assert_eq!(slug_of("My Action!"), "my-action");
        // The 64th character is a '-' once the name is cut.
        let long = format!("{}-{}", "a".repeat(63), "b".repeat(10));
        assert_eq!(slug_of(&long), "a".repeat(63));
        for name in ["My Action!", "--x--", "émile", &long, "a.b_c d"] {
            assert!(is_valid_slug(&slug_of(name)), "{name:?}");
        }
        assert_eq!(slug_of("???"), "");
    }
}
