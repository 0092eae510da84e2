//! Several of orch's own servers in one process: one MCP server whose tools
//! are theirs (`orch serve-mcp code+fs+search`).
//!
//! A run needs the `code`, `fs` and `search` roles at once; each server
//! process costs about 5 ms of CPU to start (exec, dynamic linking, runtime,
//! handshake) and more to stop, which is a tenth of a small rename on two
//! cores. Their tool names are distinct, so one process serves all three,
//! each call going to the server that has the tool.

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, Implementation, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};

use super::{Jail, code::CodeServer, fs::FsServer, search::SearchServer, test::TestServer};

/// The servers named, any subset of [`super::NAMES`].
#[derive(Default)]
pub(crate) struct Combined {
    fs: Option<FsServer>,
    search: Option<SearchServer>,
    code: Option<CodeServer>,
    test: Option<TestServer>,
}

impl Combined {
    /// The servers of `names` (each one of [`super::NAMES`], no repeats).
    pub(crate) fn new(names: &[&str], root: Jail, python: Option<String>) -> anyhow::Result<Self> {
        let mut combined = Combined::default();
        for name in names {
            let taken = match *name {
                "fs" => combined.fs.replace(FsServer::new(root.clone())).is_some(),
                "search" => combined
                    .search
                    .replace(SearchServer::new(root.clone()))
                    .is_some(),
                "code" => combined
                    .code
                    .replace(CodeServer::new(root.clone()))
                    .is_some(),
                "test" => combined
                    .test
                    .replace(TestServer::new(root.clone(), python.clone()))
                    .is_some(),
                other => anyhow::bail!(
                    "unknown built-in server `{other}` (known: {})",
                    super::NAMES.join(", ")
                ),
            };
            if taken {
                anyhow::bail!("built-in server `{name}` named twice");
            }
        }
        Ok(combined)
    }
}

impl ServerHandler for Combined {
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let name = request.name.clone();
        if let Some(fs) = self.fs.as_ref().filter(|s| s.get_tool(&name).is_some()) {
            return fs.call_tool(request, context).await;
        }
        if let Some(search) = self.search.as_ref().filter(|s| s.get_tool(&name).is_some()) {
            return search.call_tool(request, context).await;
        }
        if let Some(code) = self.code.as_ref().filter(|s| s.get_tool(&name).is_some()) {
            return code.call_tool(request, context).await;
        }
        if let Some(test) = self.test.as_ref().filter(|s| s.get_tool(&name).is_some()) {
            return test.call_tool(request, context).await;
        }
        Err(ErrorData::invalid_params(format!("no tool `{name}`"), None))
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut listed: Option<ListToolsResult> = None;
        let mut add = |result: ListToolsResult| match &mut listed {
            Some(all) => all.tools.extend(result.tools),
            None => listed = Some(result),
        };
        if let Some(fs) = &self.fs {
            add(fs.list_tools(request.clone(), context.clone()).await?);
        }
        if let Some(search) = &self.search {
            add(search.list_tools(request.clone(), context.clone()).await?);
        }
        if let Some(code) = &self.code {
            add(code.list_tools(request.clone(), context.clone()).await?);
        }
        if let Some(test) = &self.test {
            add(test.list_tools(request, context).await?);
        }
        Ok(listed.unwrap_or_default())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.fs
            .as_ref()
            .and_then(|s| s.get_tool(name))
            .or_else(|| self.search.as_ref().and_then(|s| s.get_tool(name)))
            .or_else(|| self.code.as_ref().and_then(|s| s.get_tool(name)))
            .or_else(|| self.test.as_ref().and_then(|s| s.get_tool(name)))
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("orch", env!("CARGO_PKG_VERSION")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::ServiceExt;
    use rmcp::model::CallToolRequestParams;
    use serde_json::{Value, json};

    fn call(name: &str, arguments: Value) -> CallToolRequestParams {
        CallToolRequestParams::new(name.to_owned())
            .with_arguments(arguments.as_object().cloned().unwrap_or_default())
    }

    #[tokio::test]
    async fn one_process_serves_each_tool_from_its_own_server() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.py"), "def make_str():\n    return ''\n").unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let combined = Combined::new(&["code", "fs", "search"], jail, None).unwrap();
        let (client_io, server_io) = tokio::io::duplex(1 << 16);
        let server = tokio::spawn(async move {
            let running = combined.serve(server_io).await.unwrap();
            running.waiting().await.unwrap();
        });
        let client = ().serve(client_io).await.unwrap();
        let info = client.peer_info().unwrap();
        assert_eq!(info.server_info.as_ref().unwrap().name, "orch");

        let tools: Vec<String> = client
            .list_all_tools()
            .await
            .unwrap()
            .into_iter()
            .map(|t| t.name.to_string())
            .collect();
        for tool in [
            "read_file",
            "edit_file",
            "hash_files",
            "search",
            "definitions",
            "check_syntax",
        ] {
            assert!(tools.contains(&tool.to_owned()), "{tool} in {tools:?}");
        }
        assert!(!tools.contains(&"run_tests".to_owned()));
        let mut unique = tools.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), tools.len(), "{tools:?}");

        let reply = |result: rmcp::model::CallToolResult| {
            assert_ne!(result.is_error, Some(true), "{result:?}");
            result.structured_content.unwrap()
        };
        let found = reply(
            client
                .call_tool(call("search", json!({"pattern": "make_str"})))
                .await
                .unwrap(),
        );
        assert_eq!(found["total"], 1, "{found}");
        let hashed = reply(
            client
                .call_tool(call("hash_files", json!({"paths": ["a.py"]})))
                .await
                .unwrap(),
        );
        assert_eq!(hashed["files"][0]["path"], "a.py", "{hashed}");
        let defined = reply(
            client
                .call_tool(call(
                    "definitions",
                    json!({"name": "make_str", "kind": "function"}),
                ))
                .await
                .unwrap(),
        );
        assert_eq!(defined["definitions"][0]["path"], "a.py", "{defined}");
        assert!(
            client
                .call_tool(call("run_tests", json!({})))
                .await
                .is_err()
        );

        client.cancel().await.unwrap();
        server.await.unwrap();
    }

    #[test]
    fn unknown_and_repeated_servers_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let jail = Jail::new(dir.path()).unwrap();
        let error = Combined::new(&["fs", "lint"], jail.clone(), None)
            .err()
            .unwrap();
        assert!(
            error.to_string().contains("unknown built-in server `lint`"),
            "{error}"
        );
        let error = Combined::new(&["fs", "fs"], jail, None).err().unwrap();
        assert!(error.to_string().contains("named twice"), "{error}");
    }
}
