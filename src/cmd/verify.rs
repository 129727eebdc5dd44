//! `patchline verify` and `patchline public-key`: what an executor runs before it acts on a
//! deployment command, and how an operator publishes the key executors check against.
//!
//! Invariant: `verify` succeeds only if it read at least one command and every command it read
//! verifies with [`verify_command`]: not a shadow plan, signed by the given public key, no field
//! changed since signing, and not expired at the verification instant (`--now-ms`, else the
//! current time). It never trusts the key id written in a command: the key comes from the
//! operator.

use crate::error::{CliError, Result};
use crate::output::ymd_hm;
use patchline_processors::events::DeploymentCommand;
use patchline_processors::sign::{verify_command, PublicKey, Signer};
use serde_json::Value;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// Options of `patchline verify`.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The published public key: 64 hex characters, a PEM public key, or a file holding either.
    pub public_key: String,
    /// Verification instant in milliseconds since the epoch (default: now).
    pub now_ms: Option<i64>,
    /// Commands as JSON lines, a JSON array or `patchline run` output; `None` or `-`: stdin.
    pub input: Option<PathBuf>,
}

/// Checks every command of the input and prints one line per command; fails if any does not
/// verify.
pub fn run(opts: &VerifyOptions) -> Result<()> {
    let key = public_key_from(&opts.public_key)?;
    let text = match opts.input.as_deref() {
        None => read_stdin()?,
        Some(p) if p == Path::new("-") => read_stdin()?,
        Some(p) => std::fs::read_to_string(p)?,
    };
    let commands = parse_commands(&text)?;
    if commands.is_empty() {
        return Err(CliError::Config("verify: the input holds no deployment command".into()));
    }
    let now = opts.now_ms.unwrap_or_else(now_ms);
    let mut rejected = 0;
    for c in &commands {
        match verify_command(c, &key, now) {
            Ok(()) => println!(
                "OK    {} {:?} wave {} {:?} {} window {} .. {} UTC",
                c.command_id,
                c.action,
                c.wave,
                c.ring,
                c.target_assets.join(","),
                ymd_hm(c.not_before),
                ymd_hm(c.not_after)
            ),
            Err(e) => {
                rejected += 1;
                println!("FAIL  {}: {e}", c.command_id);
            }
        }
    }
    if rejected > 0 {
        return Err(CliError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "verification failed: {rejected} of {} commands rejected (key {})",
                commands.len(),
                key.key_id()
            ),
        )));
    }
    println!("{} commands verified with key {}", commands.len(), key.key_id());
    Ok(())
}

/// Prints the public key of a signing key (the file `key_file`, else the key named by
/// `PATCHLINE_SIGNING_KEY_FILE` or held in `PATCHLINE_SIGNING_KEY`): hex, key id and PEM.
pub fn public_key(key_file: Option<&Path>) -> Result<()> {
    let env_file = std::env::var("PATCHLINE_SIGNING_KEY_FILE").ok().filter(|v| !v.is_empty());
    let text = match (key_file, env_file) {
        (Some(p), _) => std::fs::read_to_string(p)?,
        (None, Some(p)) => std::fs::read_to_string(p)?,
        (None, None) => std::env::var("PATCHLINE_SIGNING_KEY").map_err(|_| {
            CliError::Config(
                "public-key needs --key-file, PATCHLINE_SIGNING_KEY_FILE or PATCHLINE_SIGNING_KEY"
                    .into(),
            )
        })?,
    };
    let signer =
        Signer::from_text(&text).map_err(|e| CliError::Config(format!("signing key: {e}")))?;
    let public = signer.public_key();
    println!("key id:     {}", public.key_id());
    println!("public key: {}", public.to_hex());
    print!("{}", public.to_pem());
    Ok(())
}

/// A public key given inline or as a file.
fn public_key_from(arg: &str) -> Result<PublicKey> {
    let path = Path::new(arg.trim());
    let text = if !arg.trim_start().starts_with("-----") && path.is_file() {
        std::fs::read_to_string(path)?
    } else {
        arg.to_string()
    };
    PublicKey::from_text(&text).map_err(|e| CliError::Config(format!("public key: {e}")))
}

fn read_stdin() -> Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    Ok(text)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Commands from a JSON document (an object or an array) or from JSON lines; a line of
/// `patchline run` output (`{"topic", "event"}`) counts when its event is a command.
pub fn parse_commands(text: &str) -> Result<Vec<DeploymentCommand>> {
    let values: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(v) => vec![v],
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(n, l)| {
                serde_json::from_str(l)
                    .map_err(|e| CliError::Config(format!("verify: line {}: {e}", n + 1)))
            })
            .collect::<Result<_>>()?,
    };
    let mut out = Vec::new();
    for v in values {
        let v = match v.get("event") {
            Some(event) if v.get("topic").is_some() => event.clone(),
            _ => v,
        };
        if v.get("command_id").is_none() {
            continue; // another record of `patchline run` output
        }
        out.push(
            serde_json::from_value(v)
                .map_err(|e| CliError::Config(format!("verify: not a deployment command: {e}")))?,
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use patchline_processors::sign::sign_command;

    fn command() -> DeploymentCommand {
        let mut c = patchline_processors::fixtures::command();
        sign_command(&mut c, &Signer::from_seed(&[5; 32]));
        c
    }

    #[test]
    fn every_input_shape_parses() {
        let c = serde_json::to_value(command()).expect("json");
        let line = c.to_string();
        let run_line = serde_json::json!({"topic": "patchline.commands", "event": c}).to_string();
        let other =
            serde_json::json!({"topic": "patchline.exposures", "event": {"exposure_id": "e"}});
        for text in [
            line.clone(),
            format!("{line}\n\n{line}\n"),
            serde_json::to_string_pretty(&c).expect("pretty"),
            format!("[{line},{line}]"),
            format!("{run_line}\n{other}\n"),
        ] {
            let parsed = parse_commands(&text).expect("parses");
            assert!(!parsed.is_empty() && parsed.iter().all(|p| *p == command()), "{text}");
        }
        assert!(parse_commands("{not json").is_err());
    }

    #[test]
    fn run_accepts_signed_and_rejects_tampered_or_expired() {
        let dir = std::env::temp_dir().join(format!("patchline-verify-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let key = Signer::from_seed(&[5; 32]).public_key();
        let key_file = dir.join("public.pem");
        std::fs::write(&key_file, key.to_pem()).expect("key");
        let good = dir.join("good.jsonl");
        std::fs::write(&good, serde_json::to_string(&command()).expect("json")).expect("write");
        let opts = |input: &Path, now: i64| VerifyOptions {
            public_key: key_file.display().to_string(),
            now_ms: Some(now),
            input: Some(input.to_path_buf()),
        };
        assert!(run(&opts(&good, 1_500)).is_ok());
        assert!(run(&VerifyOptions { public_key: key.to_hex(), ..opts(&good, 1_500) }).is_ok());
        assert!(run(&opts(&good, 2_001)).is_err(), "expired");
        let mut tampered = command();
        tampered.target_assets = vec!["prd-db-1".into()];
        let bad = dir.join("bad.jsonl");
        std::fs::write(&bad, serde_json::to_string(&tampered).expect("json")).expect("write");
        assert!(run(&opts(&bad, 1_500)).is_err(), "tampered");
        let mut unsigned = command();
        unsigned.signature = None;
        std::fs::write(&bad, serde_json::to_string(&unsigned).expect("json")).expect("write");
        assert!(run(&opts(&bad, 1_500)).is_err(), "unsigned");
        std::fs::write(&bad, "").expect("write");
        assert!(run(&opts(&bad, 1_500)).is_err(), "nothing to verify");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
