//! Fetches and pushes: the CA bundle loaded on first use, credentials from
//! a token, a credential helper or the ssh agent, and URLs shown without
//! their credentials.

use super::*;

/// The system's CA certificates (bundle file, hashed directory) that [`init`]
/// found and defers to the first fetch or push.
pub(super) static CA_LOCATIONS: OnceLock<(Option<PathBuf>, Option<PathBuf>)> = OnceLock::new();

/// Initialises libgit2 without parsing the system CA bundle.
///
/// orch's OpenSSL is built in (git2's `vendored-openssl`): a system
/// `libcrypto` costs every orch process, servers included, a millisecond of
/// dynamic linking, and most runs never touch the network. A built-in
/// OpenSSL does not know where this system keeps its certificates, so they
/// are found the way git2 finds them (`openssl-probe`: `SSL_CERT_FILE` and
/// `SSL_CERT_DIR` first, then the usual places).
///
/// libgit2's OpenSSL set-up also reads every certificate of the default
/// bundle (`SSL_CTX_set_default_verify_paths`): about 30 ms of CPU, spent
/// even though most runs never fetch or push. The bundle is hidden from
/// that set-up (`SSL_CERT_FILE=/dev/null` for the duration of the call),
/// and [`load_ca_bundle`] hands the bundle and the directory to libgit2
/// before the first fetch or push.
///
/// Must run before any other thread exists: it sets environment variables.
pub(crate) fn init() {
    let original = std::env::var_os("SSL_CERT_FILE");
    let probed = openssl_probe::probe();
    // SAFETY: called first thing in `main`, while the process has one thread.
    unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
    git2::opts::strict_hash_verification(true); // the default; initialises libgit2
    // Children (servers, tests, hooks) see what git2 would have set.
    // SAFETY: as above, still one thread.
    unsafe {
        match (&probed.cert_file, &original) {
            (Some(file), _) => std::env::set_var("SSL_CERT_FILE", file),
            (None, Some(value)) => std::env::set_var("SSL_CERT_FILE", value),
            (None, None) => std::env::remove_var("SSL_CERT_FILE"),
        }
    }
    let _ = CA_LOCATIONS.set((probed.cert_file, probed.cert_dir));
}

/// Loads the CA certificates [`init`] deferred, once, before the first
/// network use.
pub(super) fn load_ca_bundle() {
    static LOADED: Once = Once::new();
    LOADED.call_once(|| {
        let Some((file, dir)) = CA_LOCATIONS.get() else {
            return;
        };
        // libgit2's option setters are not synchronised; this runs once,
        // on the thread about to fetch or push, before any TLS connection
        // uses the context it changes.
        if let Some(file) = file
            // SAFETY: see above.
            && let Err(error) = unsafe { git2::opts::set_ssl_cert_file(file) }
        {
            tracing::warn!(bundle = %file.display(), %error, "cannot load the CA bundle");
        }
        if let Some(dir) = dir
            // SAFETY: see above.
            && let Err(error) = unsafe { git2::opts::set_ssl_cert_dir(dir) }
        {
            tracing::warn!(directory = %dir.display(), %error, "cannot use the CA directory");
        }
    });
}

/// Fetches branch `branch` of `remote` into `refs/remotes/<remote>/<branch>`
/// and returns its commit.
pub(crate) fn fetch_branch(
    repo_path: &Path,
    remote: &str,
    branch: &str,
    token: Option<&Secret>,
) -> Result<String, Error> {
    load_ca_bundle();
    let repo = Repository::open(repo_path)?;
    let mut handle = repo
        .find_remote(remote)
        .map_err(|_| Error::NoRemote(remote.to_owned()))?;
    let url = redact_url(handle.url().unwrap_or(remote));
    let auth = Auth::new(token);
    let mut options = FetchOptions::new();
    options.remote_callbacks(auth.callbacks());
    let refspec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    handle
        .fetch(&[refspec.as_str()], Some(&mut options), None)
        .map_err(|e| auth.error(&url, e))?;
    let reference = repo.find_reference(&format!("refs/remotes/{remote}/{branch}"))?;
    Ok(reference.peel_to_commit()?.id().to_string())
}

/// Force-pushes local branch `branch` to the same name on `remote`, so a
/// re-run of the same plan updates the branch. Returns the remote's URL
/// with any credentials removed.
pub(crate) fn push_branch(
    repo_path: &Path,
    remote: &str,
    branch: &str,
    token: Option<&Secret>,
) -> Result<String, Error> {
    load_ca_bundle();
    let repo = Repository::open(repo_path)?;
    let mut handle = repo
        .find_remote(remote)
        .map_err(|_| Error::NoRemote(remote.to_owned()))?;
    let url = redact_url(
        handle
            .pushurl()
            .ok()
            .flatten()
            .or(handle.url().ok())
            .unwrap_or(remote),
    );
    let auth = Auth::new(token);
    let rejected: RefCell<Option<(String, String)>> = RefCell::new(None);
    let mut callbacks = auth.callbacks();
    callbacks.push_update_reference(|refname, status| {
        if let Some(message) = status {
            *rejected.borrow_mut() = Some((refname.to_owned(), message.to_owned()));
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options.remote_callbacks(callbacks);
    let refspec = format!("+refs/heads/{branch}:refs/heads/{branch}");
    handle
        .push(&[refspec.as_str()], Some(&mut options))
        .map_err(|e| auth.error(&url, e))?;
    drop(options);
    if let Some((refname, message)) = rejected.into_inner() {
        return Err(Error::Rejected {
            url,
            refname,
            message,
        });
    }
    Ok(url)
}

/// `url` without user name or password (`https://x:TOKEN@host/..` → `https://host/..`).
pub(crate) fn redact_url(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        if let Some((_, host)) = authority.rsplit_once('@') {
            // Keep ssh's conventional `git@` user: it is not a secret.
            if scheme.starts_with("ssh")
                && !authority[..authority.len() - host.len() - 1].contains(':')
            {
                return url.to_owned();
            }
            return format!("{scheme}://{host}{path}");
        }
    }
    url.to_owned()
}

/// Credentials for one fetch or push: the token over https, else the
/// user's git credential helper; the ssh agent over ssh. Each kind is
/// offered once, so a wrong token fails instead of looping.
pub(super) struct Auth<'a> {
    pub(super) token: Option<&'a Secret>,
    pub(super) offered_token: Cell<bool>,
    pub(super) offered_helper: Cell<bool>,
    pub(super) offered_agent: Cell<bool>,
}

impl<'a> Auth<'a> {
    fn new(token: Option<&'a Secret>) -> Self {
        Auth {
            token,
            offered_token: Cell::new(false),
            offered_helper: Cell::new(false),
            offered_agent: Cell::new(false),
        }
    }

    fn callbacks(&self) -> RemoteCallbacks<'_> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |url, username, allowed| {
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                if let Some(token) = self.token
                    && !self.offered_token.replace(true)
                {
                    return Cred::userpass_plaintext("x-access-token", token.expose());
                }
                if self.token.is_none()
                    && !self.offered_helper.replace(true)
                    && let Ok(config) = git2::Config::open_default()
                    && let Ok(cred) = Cred::credential_helper(&config, url, username)
                {
                    return Ok(cred);
                }
            }
            if allowed.contains(CredentialType::SSH_KEY) && !self.offered_agent.replace(true) {
                return Cred::ssh_key_from_agent(username.unwrap_or("git"));
            }
            if allowed.contains(CredentialType::USERNAME) {
                return Cred::username(username.unwrap_or("git"));
            }
            Err(git2::Error::from_str("no more credentials to offer"))
        });
        callbacks
    }

    /// Turns a transfer error into one that says what to do, with the URL
    /// redacted and the token never included.
    fn error(&self, url: &str, error: git2::Error) -> Error {
        let mut message = error.message().to_owned();
        if let Some(token) = self.token {
            message = message.replace(token.expose(), "***");
        }
        let lower = message.to_lowercase();
        if lower.contains("hostkey") || lower.contains("host key") {
            return Error::Auth {
                url: url.to_owned(),
                hint: format!(
                    "the server's host key is not in ~/.ssh/known_hosts (or does not match it); connect once with `ssh` to check and record it ({})",
                    message.trim()
                ),
            };
        }
        let auth_failed = error.code() == git2::ErrorCode::Auth
            || [
                "authentication",
                "credentials",
                "401",
                "403",
                "permission denied",
            ]
            .iter()
            .any(|m| lower.contains(m));
        if auth_failed {
            let hint = if url.starts_with("http") {
                if self.token.is_some() {
                    "the token in ORCH_GIT_TOKEN / GITHUB_TOKEN was refused (it needs contents: write on the repository)"
                } else {
                    "set ORCH_GIT_TOKEN or GITHUB_TOKEN to a token with contents: write, or configure a git credential helper"
                }
            } else if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|s| !Path::new(&s).exists()) {
                "orch authenticates over ssh with your ssh agent, and none is running (SSH_AUTH_SOCK); start one and `ssh-add` your key, or use an https remote with ORCH_GIT_TOKEN"
            } else {
                "orch offers the keys in your ssh agent (`ssh-add -l` lists them); add one the server accepts"
            };
            return Error::Auth {
                url: url.to_owned(),
                hint: format!("{hint} ({})", message.trim()),
            };
        }
        Error::Transfer {
            url: url.to_owned(),
            message,
        }
    }
}
