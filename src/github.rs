//! GitHub's REST API through octocrab: pull requests (find, create,
//! update, close), issue comments, reactions and collaborator permissions.
//! Every call takes and returns plain JSON fields orch needs, so a GitHub
//! Enterprise server (or a schema-validating mock) that omits fields orch
//! does not read still works. The base URL comes from `GITHUB_API_URL`.

use serde::Serialize;
use serde_json::{Value, json};
use tracing::Instrument as _;

use crate::secret::Secret;

/// GitHub API failures, with what to do about them.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    #[error("`{0}` is not a valid API URL (GITHUB_API_URL)")]
    BadUrl(String),
    #[error(
        "no GitHub token: set GITHUB_TOKEN (or ORCH_GIT_TOKEN) to a token with pull-requests: write, or pass --no-pr"
    )]
    NoToken,
    #[error("GitHub {operation} failed ({status}): {message}")]
    Api {
        operation: String,
        status: u16,
        message: String,
    },
    #[error("GitHub {operation} failed: {message}")]
    Transport { operation: String, message: String },
    #[error("GitHub {operation}: unexpected reply (no `{field}`)")]
    Reply {
        operation: String,
        field: &'static str,
    },
}

/// `owner/repo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Slug {
    pub owner: String,
    pub name: String,
}

impl Slug {
    /// `OWNER/REPO`.
    pub(crate) fn parse(text: &str) -> Option<Slug> {
        let (owner, name) = text.trim().split_once('/')?;
        let valid = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        (valid(owner) && valid(name)).then(|| Slug {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// From the URL of a remote on one of `github_hosts` (github.com, or a
    /// GitHub Enterprise host): `https://host/o/r(.git)`,
    /// `git@host:o/r(.git)`, `ssh://git@host/o/r(.git)`. Any other host
    /// (GitLab, Bitbucket, a `file://` or local path) is not GitHub.
    pub(crate) fn from_remote_url(url: &str, github_hosts: &[String]) -> Option<Slug> {
        let host = url_host(url)?;
        if !github_hosts.iter().any(|h| h.eq_ignore_ascii_case(&host)) {
            return None;
        }
        let path = if let Some((_, rest)) = url.split_once("://") {
            rest.split_once('/')?.1
        } else if let Some((_, path)) = url.split_once(':') {
            path
        } else {
            return None;
        };
        let path = path.trim_end_matches('/');
        let path = path.strip_suffix(".git").unwrap_or(path);
        let mut parts = path.rsplitn(3, '/');
        let name = parts.next()?;
        let owner = parts.next()?;
        Slug::parse(&format!("{owner}/{name}"))
    }
}

impl std::fmt::Display for Slug {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

/// The parts of a pull request orch uses.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct PullRequest {
    pub number: u64,
    pub url: String,
    pub state: String,
    pub head_ref: String,
    /// `owner/repo` of the head branch's repository (`None` if it was deleted).
    pub head_repo: Option<String>,
    pub base_ref: String,
}

impl PullRequest {
    fn from_json(operation: &str, value: &Value) -> Result<Self, Error> {
        let reply = |field| Error::Reply {
            operation: operation.to_owned(),
            field,
        };
        Ok(PullRequest {
            number: value["number"].as_u64().ok_or_else(|| reply("number"))?,
            url: value["html_url"].as_str().unwrap_or_default().to_owned(),
            state: value["state"].as_str().unwrap_or("open").to_owned(),
            head_ref: value["head"]["ref"]
                .as_str()
                .ok_or_else(|| reply("head.ref"))?
                .to_owned(),
            head_repo: value["head"]["repo"]["full_name"]
                .as_str()
                .map(str::to_owned),
            base_ref: value["base"]["ref"].as_str().unwrap_or_default().to_owned(),
        })
    }
}

/// What happened to the pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Operation {
    Created,
    Updated,
    Closed,
    None,
}

impl Operation {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Operation::Created => "created",
            Operation::Updated => "updated",
            Operation::Closed => "closed",
            Operation::None => "none",
        }
    }
}

/// A pull request to open or update.
pub(crate) struct Proposal<'a> {
    pub branch: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub draft: bool,
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Patch,
}

/// One repository on one GitHub API.
pub(crate) struct Client {
    octocrab: octocrab::Octocrab,
    pub slug: Slug,
}

impl Client {
    pub(crate) fn new(api_url: &str, token: Option<&Secret>, slug: Slug) -> Result<Client, Error> {
        let token = token.ok_or(Error::NoToken)?;
        let builder = octocrab::Octocrab::builder()
            .base_uri(api_url)
            .map_err(|_| Error::BadUrl(api_url.to_owned()))?
            .personal_token(token.expose().to_owned())
            // GitHub's documented media type, plus plain JSON for servers
            // (GitHub Enterprise proxies, mocks) that negotiate on it.
            .add_header(
                http::header::ACCEPT,
                "application/vnd.github+json, application/json".to_owned(),
            )
            .add_header(
                http::HeaderName::from_static("x-github-api-version"),
                "2022-11-28".to_owned(),
            )
            .set_connect_timeout(Some(std::time::Duration::from_secs(10)))
            .set_read_timeout(Some(std::time::Duration::from_secs(30)));
        let octocrab = builder.build().map_err(|e| Error::Transport {
            operation: "client".into(),
            message: e.to_string(),
        })?;
        Ok(Client { octocrab, slug })
    }

    fn route(&self, tail: &str) -> String {
        format!("/repos/{}/{}/{tail}", self.slug.owner, self.slug.name)
    }

    async fn send(
        &self,
        operation: &str,
        method: Method,
        route: String,
        body: Option<Value>,
    ) -> Result<Value, Error> {
        let span = tracing::info_span!("github", operation, route = %route);
        let result: Result<Value, octocrab::Error> = match method {
            Method::Get => self.octocrab.get(route, None::<&()>).instrument(span).await,
            Method::Post => {
                self.octocrab
                    .post(route, body.as_ref())
                    .instrument(span)
                    .await
            }
            Method::Patch => {
                self.octocrab
                    .patch(route, body.as_ref())
                    .instrument(span)
                    .await
            }
        };
        result.map_err(|error| api_error(operation, error))
    }

    /// The open pull request whose head is `branch` in this repository.
    pub(crate) async fn find_open(&self, branch: &str) -> Result<Option<PullRequest>, Error> {
        let operation = "list pull requests";
        let route = self.route(&format!(
            "pulls?state=open&head={}:{}&per_page=100",
            self.slug.owner,
            encode(branch)
        ));
        let value = self.send(operation, Method::Get, route, None).await?;
        let own = self.slug.to_string();
        for item in value.as_array().into_iter().flatten() {
            let pr = PullRequest::from_json(operation, item)?;
            // The `head` filter is a hint; check (and ignore forks' branches).
            if pr.head_ref == branch
                && pr.state == "open"
                && pr
                    .head_repo
                    .as_deref()
                    .is_none_or(|r| r.eq_ignore_ascii_case(&own))
            {
                return Ok(Some(pr));
            }
        }
        Ok(None)
    }

    pub(crate) async fn pull(&self, number: u64) -> Result<PullRequest, Error> {
        let operation = "get pull request";
        let value = self
            .send(
                operation,
                Method::Get,
                self.route(&format!("pulls/{number}")),
                None,
            )
            .await?;
        PullRequest::from_json(operation, &value)
    }

    pub(crate) async fn create(&self, proposal: &Proposal<'_>) -> Result<PullRequest, Error> {
        let operation = "create pull request";
        let body = json!({
            "title": proposal.title,
            "head": proposal.branch,
            "base": proposal.base,
            "body": proposal.body,
            "draft": proposal.draft,
            "maintainer_can_modify": true,
        });
        let value = self
            .send(operation, Method::Post, self.route("pulls"), Some(body))
            .await?;
        PullRequest::from_json(operation, &value)
    }

    pub(crate) async fn update(
        &self,
        number: u64,
        title: &str,
        body: &str,
    ) -> Result<PullRequest, Error> {
        let operation = "update pull request";
        let value = self
            .send(
                operation,
                Method::Patch,
                self.route(&format!("pulls/{number}")),
                Some(json!({ "title": title, "body": body })),
            )
            .await?;
        PullRequest::from_json(operation, &value)
    }

    pub(crate) async fn close(&self, number: u64) -> Result<PullRequest, Error> {
        let operation = "close pull request";
        let value = self
            .send(
                operation,
                Method::Patch,
                self.route(&format!("pulls/{number}")),
                Some(json!({ "state": "closed" })),
            )
            .await?;
        PullRequest::from_json(operation, &value)
    }

    /// Creates, updates or closes the pull request for `proposal.branch`.
    /// `has_diff == false` closes an open one (and opens none).
    pub(crate) async fn sync(
        &self,
        proposal: &Proposal<'_>,
        has_diff: bool,
    ) -> Result<(Operation, Option<PullRequest>), Error> {
        let open = self.find_open(proposal.branch).await?;
        match (open, has_diff) {
            (None, false) => Ok((Operation::None, None)),
            (Some(pr), false) => Ok((Operation::Closed, Some(self.close(pr.number).await?))),
            (Some(pr), true) => Ok((
                Operation::Updated,
                Some(
                    self.update(pr.number, proposal.title, proposal.body)
                        .await?,
                ),
            )),
            (None, true) => Ok((Operation::Created, Some(self.create(proposal).await?))),
        }
    }

    /// Adds a reaction (`eyes`, `rocket`, ...) to an issue comment.
    pub(crate) async fn react(&self, comment_id: u64, content: &str) -> Result<(), Error> {
        self.send(
            "add reaction",
            Method::Post,
            self.route(&format!("issues/comments/{comment_id}/reactions")),
            Some(json!({ "content": content })),
        )
        .await
        .map(drop)
    }

    /// Posts a comment on an issue or pull request; returns its id.
    pub(crate) async fn comment(&self, issue: u64, body: &str) -> Result<u64, Error> {
        let operation = "create comment";
        let value = self
            .send(
                operation,
                Method::Post,
                self.route(&format!("issues/{issue}/comments")),
                Some(json!({ "body": body })),
            )
            .await?;
        value["id"].as_u64().ok_or(Error::Reply {
            operation: operation.into(),
            field: "id",
        })
    }

    pub(crate) async fn edit_comment(&self, comment_id: u64, body: &str) -> Result<(), Error> {
        self.send(
            "update comment",
            Method::Patch,
            self.route(&format!("issues/comments/{comment_id}")),
            Some(json!({ "body": body })),
        )
        .await
        .map(drop)
    }

    /// `admin`, `maintain`, `write`, `triage`, `read` or `none`.
    pub(crate) async fn permission(&self, user: &str) -> Result<String, Error> {
        let operation = "get collaborator permission";
        let value = self
            .send(
                operation,
                Method::Get,
                self.route(&format!("collaborators/{}/permission", encode(user))),
                None,
            )
            .await;
        match value {
            Ok(value) => Ok(value["role_name"]
                .as_str()
                .or(value["permission"].as_str())
                .unwrap_or("none")
                .to_owned()),
            // 404: not a collaborator.
            Err(Error::Api { status: 404, .. }) => Ok("none".to_owned()),
            Err(error) => Err(error),
        }
    }
}

fn api_error(operation: &str, error: octocrab::Error) -> Error {
    match error {
        octocrab::Error::GitHub { source, .. } => {
            let mut message = source.message.clone();
            for detail in source.errors.iter().flatten() {
                if let Some(text) = detail["message"].as_str() {
                    message.push_str(&format!("; {text}"));
                } else if let Some(code) = detail["code"].as_str() {
                    message.push_str(&format!(
                        "; {} {code}",
                        detail["field"].as_str().unwrap_or("")
                    ));
                }
            }
            Error::Api {
                operation: operation.to_owned(),
                status: source.status_code.as_u16(),
                message,
            }
        }
        other => Error::Transport {
            operation: operation.to_owned(),
            message: describe(&other),
        },
    }
}

/// The error and its causes on one line.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

/// Percent-encodes a path or query component.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The host of a URL (`scheme://[user@]host[:port]/...`) or of an
/// scp-style remote (`[user@]host:path`), lower-cased; `None` for local
/// paths and `file://` URLs.
pub(crate) fn url_host(url: &str) -> Option<String> {
    let authority = if let Some((scheme, rest)) = url.split_once("://") {
        if scheme.eq_ignore_ascii_case("file") {
            return None;
        }
        rest.split(['/', '?', '#']).next()?
    } else {
        let (authority, _) = url.split_once(':')?;
        // `C:\...` or `./a:b` are paths, not hosts.
        if authority.contains('/') || authority.len() < 2 {
            return None;
        }
        authority
    };
    let host = authority.rsplit('@').next()?;
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => host.split(':').next()?,
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_remote_urls() {
        let expect = Some(Slug {
            owner: "acme".into(),
            name: "shop".into(),
        });
        let hosts = ["github.com".to_owned(), "ghe.example.com".to_owned()];
        for url in [
            "https://github.com/acme/shop.git",
            "https://github.com/acme/shop",
            "https://x-access-token:abc@GitHub.com/acme/shop.git",
            "git@github.com:acme/shop.git",
            "ssh://git@github.com/acme/shop.git",
            "https://ghe.example.com/acme/shop/",
            "https://ghe.example.com:8443/acme/shop.git",
        ] {
            assert_eq!(Slug::from_remote_url(url, &hosts), expect, "{url}");
        }
        // Only GitHub is GitHub.
        for url in [
            "/tmp/bare.git",
            "file:///tmp/acme/shop.git",
            "https://gitlab.com/acme/shop.git",
            "git@bitbucket.org:acme/shop.git",
            "git@host:team/proj",
            "ssh://git@github.example.com/acme/shop.git",
        ] {
            assert_eq!(Slug::from_remote_url(url, &hosts), None, "{url}");
        }
        assert_eq!(Slug::parse("acme"), None);
        assert_eq!(Slug::parse("acme/shop; rm -rf"), None);
    }

    #[test]
    fn encoding_keeps_branch_slashes() {
        assert_eq!(encode("orch/rename-a-1234abcd"), "orch/rename-a-1234abcd");
        assert_eq!(encode("a b&c"), "a%20b%26c");
    }
}
