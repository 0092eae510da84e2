//! `--github-event`: reads a GitHub `issue_comment` webhook payload (the
//! file Actions names in `GITHUB_EVENT_PATH`) and decides, again and
//! independently of the workflow's `if:`, whether it asks orch to run.
//!
//! The comment body is data: orch takes the text after `/refactor` on the
//! first line as the command and never hands it to a shell.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::github::Slug;

/// A malformed or unreadable event file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("cannot read the event file `{path}`: {message}")]
    Read { path: String, message: String },
    #[error("`{path}` is not a GitHub issue_comment event: {message}")]
    Shape { path: String, message: String },
}

/// The comment prefix that asks for a refactor.
pub(crate) const PREFIX: &str = "/refactor";

/// Author associations admitted without asking the API.
pub(crate) const ADMITTED: [&str; 3] = ["OWNER", "MEMBER", "COLLABORATOR"];

/// Repository permissions that may run a refactor (checked for CONTRIBUTOR).
pub(crate) const WRITE_PERMISSIONS: [&str; 3] = ["admin", "maintain", "write"];

/// A `/refactor` comment orch will act on (once the author is admitted).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Trigger {
    pub slug: Slug,
    /// The command text after `/refactor` (may be empty).
    pub command: String,
    pub comment_id: u64,
    /// The issue or pull request number.
    pub issue: u64,
    /// The comment is on a pull request: base the refactor on its head.
    pub pull_request: bool,
    pub user: String,
    pub association: String,
    pub default_branch: String,
    /// orch's status comment, once posted.
    pub status_comment: Option<u64>,
}

/// What the event asks for.
#[derive(Debug)]
pub(crate) enum Decision {
    /// A `/refactor` comment from an admitted author.
    Run(Trigger),
    /// The author's association needs the collaborator-permission API.
    AskPermission(Trigger),
    /// Not for orch (exit 0).
    Ignore(String),
    /// For orch, but not allowed (exit 1).
    Refuse(String),
}

/// Reads the event file. `event_name` is `GITHUB_EVENT_NAME`, if set;
/// `body` is `ORCH_COMMENT_BODY`, if the workflow passes it: it must match
/// the event's comment.
pub(crate) fn read(
    path: &Path,
    event_name: Option<&str>,
    body: Option<&str>,
) -> Result<Decision, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Read {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let value: Value = serde_json::from_str(&text).map_err(|e| Error::Shape {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    if let Some(body) = body
        && value["comment"]["body"].as_str().is_some_and(|b| b != body)
    {
        return Ok(Decision::Refuse(
            "ORCH_COMMENT_BODY differs from the event's comment body".into(),
        ));
    }
    decide(&value, event_name).map_err(|message| Error::Shape {
        path: path.display().to_string(),
        message,
    })
}

/// The decision for a parsed payload.
pub(crate) fn decide(event: &Value, event_name: Option<&str>) -> Result<Decision, String> {
    if let Some(name) = event_name.filter(|n| !n.is_empty())
        && name != "issue_comment"
    {
        return Ok(Decision::Ignore(format!(
            "event `{name}` is not an issue comment"
        )));
    }
    let comment = event
        .get("comment")
        .filter(|c| c.is_object())
        .ok_or("no `comment` object")?;
    let issue = event
        .get("issue")
        .filter(|c| c.is_object())
        .ok_or("no `issue` object")?;
    let action = event["action"].as_str().ok_or("no `action`")?;
    if action != "created" {
        return Ok(Decision::Ignore(format!("comment {action}, not created")));
    }
    let body = comment["body"].as_str().unwrap_or_default();
    let Some(command) = command_of(body) else {
        return Ok(Decision::Ignore(format!(
            "the comment does not start with `{PREFIX}`"
        )));
    };
    let user = comment["user"]["login"]
        .as_str()
        .ok_or("no `comment.user.login`")?
        .to_owned();
    let association = comment["author_association"]
        .as_str()
        .ok_or("no `comment.author_association`")?
        .to_owned();
    let slug = event["repository"]["full_name"]
        .as_str()
        .and_then(Slug::parse)
        .ok_or("no valid `repository.full_name`")?;
    let trigger = Trigger {
        slug,
        command,
        comment_id: comment["id"].as_u64().ok_or("no `comment.id`")?,
        issue: issue["number"].as_u64().ok_or("no `issue.number`")?,
        pull_request: issue.get("pull_request").is_some_and(|p| !p.is_null()),
        association: association.clone(),
        default_branch: event["repository"]["default_branch"]
            .as_str()
            .unwrap_or("main")
            .to_owned(),
        user: user.clone(),
        status_comment: None,
    };
    let is_bot = comment["user"]["type"].as_str() == Some("Bot") || user.ends_with("[bot]");
    if is_bot {
        return Ok(Decision::Refuse(format!(
            "`{PREFIX}` comments from bots are not run (author `{user}`)"
        )));
    }
    if ADMITTED.contains(&association.as_str()) {
        return Ok(Decision::Run(trigger));
    }
    if association == "CONTRIBUTOR" {
        return Ok(Decision::AskPermission(trigger));
    }
    Ok(Decision::Refuse(refusal(&user, &association, None)))
}

/// Why `user` may not run a refactor.
pub(crate) fn refusal(user: &str, association: &str, permission: Option<&str>) -> String {
    let permission = permission
        .map(|p| format!(", repository permission `{p}`"))
        .unwrap_or_default();
    format!(
        "`{user}` (author association {association}{permission}) may not run `{PREFIX}`: only owners, members and collaborators with write access can"
    )
}

/// The text after `/refactor` on the first line, or `None` if the body does
/// not start with the prefix as a word.
pub(crate) fn command_of(body: &str) -> Option<String> {
    let rest = body.strip_prefix(PREFIX)?;
    if rest.chars().next().is_some_and(|c| !c.is_whitespace()) {
        return None;
    }
    let line = rest
        .trim_start_matches([' ', '\t'])
        .lines()
        .next()
        .unwrap_or("");
    Some(line.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(body: &str, association: &str, login: &str, kind: &str) -> Value {
        json!({
            "action": "created",
            "issue": {"number": 7, "title": "t"},
            "comment": {
                "id": 42, "body": body, "author_association": association,
                "user": {"login": login, "type": kind}
            },
            "repository": {"full_name": "acme/shop", "default_branch": "main"}
        })
    }

    #[test]
    fn prefix_is_a_word_and_only_the_first_line_counts() {
        assert_eq!(
            command_of("/refactor rename a to b").as_deref(),
            Some("rename a to b")
        );
        assert_eq!(
            command_of("/refactor   rename a to b\n$(rm -rf /)").as_deref(),
            Some("rename a to b")
        );
        assert_eq!(command_of("/refactor").as_deref(), Some(""));
        assert_eq!(command_of("/refactoring x"), None);
        assert_eq!(command_of("please /refactor x"), None);
    }

    #[test]
    fn associations_bots_and_actions() {
        let run = |e: &Value| decide(e, Some("issue_comment")).unwrap();
        assert!(
            matches!(run(&event("/refactor x", "OWNER", "o", "User")), Decision::Run(t) if t.command == "x" && t.issue == 7 && !t.pull_request)
        );
        assert!(matches!(
            run(&event("/refactor x", "CONTRIBUTOR", "c", "User")),
            Decision::AskPermission(_)
        ));
        assert!(
            matches!(run(&event("/refactor x", "NONE", "n", "User")), Decision::Refuse(m) if m.contains("NONE"))
        );
        assert!(
            matches!(run(&event("/refactor x", "OWNER", "dependabot[bot]", "Bot")), Decision::Refuse(m) if m.contains("bots"))
        );
        assert!(matches!(
            run(&event("hello", "OWNER", "o", "User")),
            Decision::Ignore(_)
        ));
        let mut edited = event("/refactor x", "OWNER", "o", "User");
        edited["action"] = "edited".into();
        assert!(matches!(run(&edited), Decision::Ignore(_)));
        assert!(matches!(
            decide(&event("/refactor x", "OWNER", "o", "User"), Some("push")).unwrap(),
            Decision::Ignore(_)
        ));
        let mut on_pr = event("/refactor x", "MEMBER", "m", "User");
        on_pr["issue"]["pull_request"] = json!({"url": "u"});
        assert!(matches!(run(&on_pr), Decision::Run(t) if t.pull_request));
        assert!(decide(&json!({"action": "created"}), None).is_err());
    }
}
