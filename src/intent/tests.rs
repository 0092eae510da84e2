//! The command language, phrasing by phrasing.

use super::*;

fn rename(symbol: SymbolKind, old: &str, new: &str, scope: Option<&str>) -> Intent {
    Intent::Rename(Rename {
        symbol,
        old: old.into(),
        new: new.into(),
        scope: scope.map(str::to_owned),
        class: None,
        function: None,
    })
}

#[test]
fn rename_phrasings() {
    use SymbolKind::*;
    let cases = [
        (
            "rename make_str to make_text",
            rename(Any, "make_str", "make_text", None),
        ),
        (
            "rename function make_str to make_text",
            rename(Function, "make_str", "make_text", None),
        ),
        (
            "Rename the function `make_str` to `make_text`",
            rename(Function, "make_str", "make_text", None),
        ),
        (
            "rename class Price to Amount in shop/money.py",
            rename(Class, "Price", "Amount", Some("shop/money.py")),
        ),
        (
            "rename make_str in shop/util.py to make_text",
            rename(Any, "make_str", "make_text", Some("shop/util.py")),
        ),
        (
            "rename shop.util.make_str to make_text",
            rename(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename def make_str() into make_text()",
            rename(Function, "make_str", "make_text", None),
        ),
        (
            "rename 'make_str' to \"make_text\" in the shop.util module",
            rename(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename function make_str to make_text.",
            rename(Function, "make_str", "make_text", None),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
}

fn replace(pattern: &str, rewrite: &str, scope: Option<&str>, language: Option<&str>) -> Intent {
    Intent::Replace(Replace {
        pattern: pattern.into(),
        rewrite: rewrite.into(),
        scope: scope.map(str::to_owned),
        language: language.map(str::to_owned),
    })
}

#[test]
fn replace_phrasings() {
    let join = "os.path.join($A, $B)";
    let path = "Path($A) / $B";
    let cases = [
        (
            "replace `os.path.join($A, $B)` with `Path($A) / $B` in src/",
            replace(join, path, Some("src/"), None),
        ),
        (
            "replace `os.path.join($A, $B)` with `Path($A) / $B`",
            replace(join, path, None, None),
        ),
        (
            "Replace all `os.path.join($A, $B)` by 'Path($A) / $B' in the src directory",
            replace(join, path, Some("src"), None),
        ),
        (
            "rewrite \"os.path.join($A, $B)\" to \"Path($A) / $B\" in python files",
            replace(join, path, None, Some("python")),
        ),
        (
            "replace calls to `console.log($$$A)` with `logger.info($$$A)` in web/ in ts files",
            replace(
                "console.log($$$A)",
                "logger.info($$$A)",
                Some("web/"),
                Some("typescript"),
            ),
        ),
        (
            "change `$X.unwrap()` to `$X?` in src/lib.rs",
            replace("$X.unwrap()", "$X?", Some("src/lib.rs"), None),
        ),
        (
            "replace `panic($E)` with `log.Fatal($E)` for golang",
            replace("panic($E)", "log.Fatal($E)", None, Some("go")),
        ),
        (
            "replace `print($$$ARGS)` with `log($$$ARGS)` using python",
            replace("print($$$ARGS)", "log($$$ARGS)", None, Some("python")),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
    assert_eq!(parse("replace `a` with `a`"), Err(Error::SamePattern));
    assert!(matches!(
        parse("replace `a` with"),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(
        parse("replace `a` with `b` using cobol"),
        Err(Error::Language(_))
    ));
    let intent = parse("replace `os.path.join($A, $B)` with `Path($A) / $B`").unwrap();
    assert_eq!(intent.slug(), "replace-os-path-join-a-b-with-path-a-b");
}

#[test]
fn cleanup_phrasings() {
    let cleanup = |scope: Option<&str>| {
        Intent::RemoveUnusedImports(Cleanup {
            scope: scope.map(str::to_owned),
        })
    };
    let cases = [
        ("remove unused imports", cleanup(None)),
        ("remove unused imports in shop/", cleanup(Some("shop/"))),
        (
            "Remove all the unused imports from shop/util.py",
            cleanup(Some("shop/util.py")),
        ),
        (
            "delete unused imports in the shop package",
            cleanup(Some("shop")),
        ),
        ("clean up unused imports under src", cleanup(Some("src"))),
        (
            "drop imports that are unused in `src/app`",
            cleanup(Some("src/app")),
        ),
        ("remove unused import statements", cleanup(None)),
        (
            "prune unused python imports across lib/",
            cleanup(Some("lib/")),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
    assert!(matches!(
        parse("remove imports"),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(
        parse("remove unused code"),
        Err(Error::Unknown { .. })
    ));
    assert_eq!(
        parse("remove unused imports in shop/").unwrap().slug(),
        "remove-unused-imports-in-shop"
    );
}

/// Safe delete, the way people ask for it; the clean-ups keep their
/// meaning.
#[test]
fn safe_delete_phrasings() {
    use SymbolKind::*;
    let d = |symbol, name: &str, class: Option<&str>, scope: Option<&str>| {
        Intent::SafeDelete(SafeDelete {
            symbol,
            name: name.to_owned(),
            class: class.map(str::to_owned),
            scope: scope.map(str::to_owned),
        })
    };
    let cases = [
        (
            "safe delete function _orphan",
            d(Function, "_orphan", None, None),
        ),
        ("safely delete _orphan", d(Any, "_orphan", None, None)),
        ("safe-delete class Ledger", d(Class, "Ledger", None, None)),
        (
            "delete the unused function _orphan",
            d(Function, "_orphan", None, None),
        ),
        ("remove _orphan if unused", d(Any, "_orphan", None, None)),
        (
            "remove _orphan() if nothing uses it",
            d(Any, "_orphan", None, None),
        ),
        (
            "delete method Cart.receipt",
            d(Method, "receipt", Some("Cart"), None),
        ),
        (
            "delete Cart.receipt",
            d(Method, "receipt", Some("Cart"), None),
        ),
        (
            "drop the constant UNUSED_LIMIT from shop/util.py",
            d(Variable, "UNUSED_LIMIT", None, Some("shop/util.py")),
        ),
        (
            "safely remove variable LIMIT in the util module",
            d(Variable, "LIMIT", None, Some("util")),
        ),
        (
            "Please get rid of the dead function _old_helper",
            d(Function, "_old_helper", None, None),
        ),
        (
            "delete function shop.util._orphan",
            d(Function, "_orphan", None, Some("shop.util")),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
    // The clean-ups are what they were.
    assert!(matches!(
        parse("remove unused imports"),
        Ok(Intent::RemoveUnusedImports(_))
    ));
    assert!(matches!(
        parse("delete unused private functions in shop/"),
        Ok(Intent::RemoveUnusedFunctions(_))
    ));
    assert!(matches!(
        parse("remove parameter label from describe"),
        Ok(Intent::RemoveParameter(_))
    ));
    // A method needs its class; a sentence is not a name.
    assert!(parse("delete method total").is_err());
    assert!(parse("remove unused code").is_err());
    assert!(parse("delete 3rd_thing").is_err());
    assert_eq!(
        parse("safe delete function _orphan").unwrap().slug(),
        "delete-orphan"
    );
}

/// Reordering parameters, as people ask; `move` of a function is still a
/// move.
#[test]
fn reorder_phrasings() {
    let r = |function: &str, class: Option<&str>, parameter: &str, other: &str, placement: &str| {
        Intent::ReorderParameters(ReorderParameters {
            function: function.to_owned(),
            class: class.map(str::to_owned),
            scope: None,
            parameter: parameter.to_owned(),
            other: other.to_owned(),
            placement: placement.to_owned(),
        })
    };
    let cases = [
        (
            "move parameter label before cents in describe",
            r("describe", None, "label", "cents", "before"),
        ),
        (
            "move the label parameter before cents in describe",
            r("describe", None, "label", "cents", "before"),
        ),
        (
            "put argument sep after the label parameter of describe",
            r("describe", None, "sep", "label", "after"),
        ),
        (
            "Move param cents after label in function describe",
            r("describe", None, "cents", "label", "after"),
        ),
        (
            "swap the parameters of Cart.add",
            r("add", Some("Cart"), "", "", "swap"),
        ),
        (
            "swap parameters name and cents of Cart.add",
            r("add", Some("Cart"), "name", "cents", "swap"),
        ),
        (
            "switch the arguments a and b in method Pair.join",
            r("join", Some("Pair"), "a", "b", "swap"),
        ),
        (
            "please swap the two parameters of describe",
            r("describe", None, "", "", "swap"),
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
    assert!(matches!(
        parse("move function make_str to shop/text.py"),
        Ok(Intent::Move(_))
    ));
    assert!(parse("swap make_str").is_err());
    assert_eq!(
        parse("swap the parameters of Cart.add").unwrap().describe(),
        "swap the parameters of Cart.add"
    );
}

/// At least 100 phrasings across every form orch understands.
#[test]
fn phrasing_table() {
    use SymbolKind::*;
    let r = |symbol, old: &str, new: &str, scope: Option<&str>| rename(symbol, old, new, scope);
    let m = |old: &str, new: &str, class: Option<&str>, scope: Option<&str>| {
        let mut intent = rename(Method, old, new, scope);
        if let Intent::Rename(r) = &mut intent {
            r.class = class.map(str::to_owned);
        }
        intent
    };
    let a = |old: &str, new: &str, function: &str, class: Option<&str>, scope: Option<&str>| {
        let mut intent = rename(Parameter, old, new, scope);
        if let Intent::Rename(r) = &mut intent {
            r.class = class.map(str::to_owned);
            r.function = Some(function.to_owned());
        }
        intent
    };
    let p = |pattern: &str, rewrite: &str, scope: Option<&str>, language: Option<&str>| {
        replace(pattern, rewrite, scope, language)
    };
    let add = |parameter: &str,
               default: &str,
               function: &str,
               class: Option<&str>,
               scope: Option<&str>| {
        Intent::AddParameter(AddParameter {
            parameter: parameter.into(),
            default: default.into(),
            function: function.into(),
            class: class.map(str::to_owned),
            scope: scope.map(str::to_owned),
        })
    };
    let fa = |function: &str, class: Option<&str>, scope: Option<&str>| {
        Intent::MakeAsync(MakeAsync {
            function: Some(function.into()),
            class: class.map(str::to_owned),
            module: None,
            scope: scope.map(str::to_owned),
        })
    };
    let mv = |symbol, name: &str, from: Option<&str>, to: &str, keep_alias| {
        Intent::Move(Move {
            symbol,
            name: name.into(),
            from: from.map(str::to_owned),
            to: to.into(),
            keep_alias,
        })
    };
    let rm = |old: &str, new: &str| {
        Intent::RenameModule(RenameModule {
            old: old.into(),
            new: new.into(),
        })
    };
    let ma = |module: &str| {
        Intent::MakeAsync(MakeAsync {
            function: None,
            class: None,
            module: Some(module.into()),
            scope: None,
        })
    };
    let rp = |parameter: &str, function: &str, class: Option<&str>, scope: Option<&str>| {
        Intent::RemoveParameter(RemoveParameter {
            parameter: parameter.into(),
            function: function.into(),
            class: class.map(str::to_owned),
            scope: scope.map(str::to_owned),
        })
    };
    let f = |scope: Option<&str>| {
        Intent::RemoveUnusedFunctions(Cleanup {
            scope: scope.map(str::to_owned),
        })
    };
    let c = |scope: Option<&str>| {
        Intent::RemoveUnusedImports(Cleanup {
            scope: scope.map(str::to_owned),
        })
    };
    let table: Vec<(&str, Intent)> = vec![
        // rename: kinds, quoting, scopes, dotted names, call syntax.
        (
            "rename make_str to make_text",
            r(Any, "make_str", "make_text", None),
        ),
        (
            "rename make_str as make_text",
            r(Any, "make_str", "make_text", None),
        ),
        (
            "rename make_str into make_text",
            r(Any, "make_str", "make_text", None),
        ),
        (
            "rename make_str -> make_text",
            r(Any, "make_str", "make_text", None),
        ),
        (
            "RENAME make_str TO make_text",
            r(Any, "make_str", "make_text", None),
        ),
        (
            "rename function make_str to make_text",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename func make_str to make_text",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename fn make_str to make_text",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename def make_str to make_text",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename the function make_str to make_text",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename function `make_str` to `make_text`",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename function 'make_str' to 'make_text'",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename function \"make_str\" to \"make_text\"",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename function make_str() to make_text()",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename function `make_str()` to `make_text()`",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename function make_str to make_text.",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "  rename   function   make_str   to   make_text  ",
            r(Function, "make_str", "make_text", None),
        ),
        (
            "rename class Price to Amount",
            r(Class, "Price", "Amount", None),
        ),
        (
            "rename the class Price to Amount",
            r(Class, "Price", "Amount", None),
        ),
        (
            "rename class `Price` to `Amount`",
            r(Class, "Price", "Amount", None),
        ),
        (
            "rename class Price as Amount",
            r(Class, "Price", "Amount", None),
        ),
        (
            "rename variable WORD to WORD_RE",
            r(Variable, "WORD", "WORD_RE", None),
        ),
        (
            "rename constant WORD to WORD_RE",
            r(Variable, "WORD", "WORD_RE", None),
        ),
        (
            "rename const WORD to WORD_RE",
            r(Variable, "WORD", "WORD_RE", None),
        ),
        (
            "rename var WORD to WORD_RE",
            r(Variable, "WORD", "WORD_RE", None),
        ),
        (
            "rename global WORD to WORD_RE",
            r(Variable, "WORD", "WORD_RE", None),
        ),
        (
            "rename the constant `WIN` to `IS_WINDOWS`",
            r(Variable, "WIN", "IS_WINDOWS", None),
        ),
        (
            "rename make_str to make_text in shop/util.py",
            r(Any, "make_str", "make_text", Some("shop/util.py")),
        ),
        (
            "rename make_str to make_text in shop/",
            r(Any, "make_str", "make_text", Some("shop/")),
        ),
        (
            "rename make_str to make_text in shop",
            r(Any, "make_str", "make_text", Some("shop")),
        ),
        (
            "rename make_str to make_text in shop.util",
            r(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename make_str to make_text in the shop.util module",
            r(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename make_str to make_text in module shop.util",
            r(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename make_str to make_text in the shop package",
            r(Any, "make_str", "make_text", Some("shop")),
        ),
        (
            "rename make_str to make_text in file shop/util.py",
            r(Any, "make_str", "make_text", Some("shop/util.py")),
        ),
        (
            "rename make_str to make_text from shop/util.py",
            r(Any, "make_str", "make_text", Some("shop/util.py")),
        ),
        (
            "rename make_str to make_text within shop",
            r(Any, "make_str", "make_text", Some("shop")),
        ),
        (
            "rename make_str to make_text inside shop/util.py",
            r(Any, "make_str", "make_text", Some("shop/util.py")),
        ),
        (
            "rename make_str in shop/util.py to make_text",
            r(Any, "make_str", "make_text", Some("shop/util.py")),
        ),
        (
            "rename function make_str in shop.util to make_text",
            r(Function, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename the function `make_str` to `make_text` in src/click",
            r(Function, "make_str", "make_text", Some("src/click")),
        ),
        (
            "rename shop.util.make_str to make_text",
            r(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename function shop.util.make_str to make_text",
            r(Function, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename class shop.util.Price to Amount",
            r(Class, "Price", "Amount", Some("shop.util")),
        ),
        (
            "rename `shop.util.make_str` to `make_text`",
            r(Any, "make_str", "make_text", Some("shop.util")),
        ),
        (
            "rename _private to _hidden",
            r(Any, "_private", "_hidden", None),
        ),
        (
            "rename __dunder_like to plain",
            r(Any, "__dunder_like", "plain", None),
        ),
        ("rename café to coffee", r(Any, "café", "coffee", None)),
        (
            "rename make_str to make_text in 'my dir/util.py'",
            r(Any, "make_str", "make_text", Some("my dir/util.py")),
        ),
        (
            "rename class Option to CliOption in src/click/core.py",
            r(Class, "Option", "CliOption", Some("src/click/core.py")),
        ),
        (
            "rename method Cart.total to subtotal",
            m("total", "subtotal", Some("Cart"), None),
        ),
        (
            "rename method total of Cart to subtotal",
            m("total", "subtotal", Some("Cart"), None),
        ),
        (
            "rename method total in class Cart to subtotal",
            m("total", "subtotal", Some("Cart"), None),
        ),
        (
            "rename the method `total` of class `Cart` to `subtotal`",
            m("total", "subtotal", Some("Cart"), None),
        ),
        (
            "rename method total to subtotal",
            m("total", "subtotal", None, None),
        ),
        (
            "rename method total to subtotal in shop/cart.py",
            m("total", "subtotal", None, Some("shop/cart.py")),
        ),
        (
            "rename method shop.cart.Cart.total to subtotal",
            m("total", "subtotal", Some("Cart"), Some("shop.cart")),
        ),
        (
            "rename method Cart.total() to subtotal()",
            m("total", "subtotal", Some("Cart"), None),
        ),
        (
            "rename parameter cents of add to amount",
            a("cents", "amount", "add", None, None),
        ),
        (
            "rename parameter add.cents to amount",
            a("cents", "amount", "add", None, None),
        ),
        (
            "rename parameter cents of Cart.add to amount",
            a("cents", "amount", "add", Some("Cart"), None),
        ),
        (
            "rename param Cart.add.cents to amount",
            a("cents", "amount", "add", Some("Cart"), None),
        ),
        (
            "rename argument cents in function add to amount",
            a("cents", "amount", "add", None, None),
        ),
        (
            "rename the parameter `cents` of `describe()` to `value`",
            a("cents", "value", "describe", None, None),
        ),
        (
            "rename keyword label of describe to title in shop/util.py",
            a("label", "title", "describe", None, Some("shop/util.py")),
        ),
        (
            "rename parameter shop.util.describe.label to title",
            a("label", "title", "describe", None, Some("shop.util")),
        ),
        // replace: verbs, quoting, scopes, languages.
        (
            "replace `os.path.join($A, $B)` with `Path($A) / $B`",
            p("os.path.join($A, $B)", "Path($A) / $B", None, None),
        ),
        (
            "replace `os.path.join($A, $B)` with `Path($A) / $B` in src/",
            p("os.path.join($A, $B)", "Path($A) / $B", Some("src/"), None),
        ),
        (
            "replace `os.path.join($A, $B)` by `Path($A) / $B`",
            p("os.path.join($A, $B)", "Path($A) / $B", None, None),
        ),
        (
            "replace `os.path.join($A, $B)` -> `Path($A) / $B`",
            p("os.path.join($A, $B)", "Path($A) / $B", None, None),
        ),
        (
            "replace `os.path.join($A, $B)` => `Path($A) / $B`",
            p("os.path.join($A, $B)", "Path($A) / $B", None, None),
        ),
        (
            "replace all `os.path.join($A, $B)` with `Path($A) / $B`",
            p("os.path.join($A, $B)", "Path($A) / $B", None, None),
        ),
        (
            "replace every `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace each `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace all occurrences of `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace calls to `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace uses of `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace the pattern `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "rewrite `print($X)` to `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "rewrite `print($X)` into `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "substitute `print($X)` with `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "change `print($X)` to `log($X)`",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "change `print($X)` into `log($X)` in app/",
            p("print($X)", "log($X)", Some("app/"), None),
        ),
        (
            "replace 'print($X)' with 'log($X)'",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace \"print($X)\" with \"log($X)\"",
            p("print($X)", "log($X)", None, None),
        ),
        (
            "replace `print($$$ARGS)` with `log($$$ARGS)`",
            p("print($$$ARGS)", "log($$$ARGS)", None, None),
        ),
        (
            "replace `print($X)` with `log($X)` in python files",
            p("print($X)", "log($X)", None, Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` in py files",
            p("print($X)", "log($X)", None, Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` in python code",
            p("print($X)", "log($X)", None, Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` for python",
            p("print($X)", "log($X)", None, Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` using python",
            p("print($X)", "log($X)", None, Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` language python",
            p("print($X)", "log($X)", None, Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` in src/ in python files",
            p("print($X)", "log($X)", Some("src/"), Some("python")),
        ),
        (
            "replace `print($X)` with `log($X)` in python files in src/",
            p("print($X)", "log($X)", Some("src/"), Some("python")),
        ),
        (
            "replace `$X.unwrap()` with `$X?` in rust files",
            p("$X.unwrap()", "$X?", None, Some("rust")),
        ),
        (
            "replace `$X.unwrap()` with `$X?` in rs files",
            p("$X.unwrap()", "$X?", None, Some("rust")),
        ),
        (
            "replace `console.log($$$A)` with `logger.info($$$A)` in javascript files",
            p(
                "console.log($$$A)",
                "logger.info($$$A)",
                None,
                Some("javascript"),
            ),
        ),
        (
            "replace `console.log($$$A)` with `logger.info($$$A)` in js files",
            p(
                "console.log($$$A)",
                "logger.info($$$A)",
                None,
                Some("javascript"),
            ),
        ),
        (
            "replace `parseInt($S)` with `Number($S)` in typescript files",
            p("parseInt($S)", "Number($S)", None, Some("typescript")),
        ),
        (
            "replace `parseInt($S)` with `Number($S)` in ts files",
            p("parseInt($S)", "Number($S)", None, Some("typescript")),
        ),
        (
            "replace `parseInt($S)` with `Number($S)` in tsx files",
            p("parseInt($S)", "Number($S)", None, Some("tsx")),
        ),
        (
            "replace `panic($E)` with `log.Fatal($E)` in go files",
            p("panic($E)", "log.Fatal($E)", None, Some("go")),
        ),
        (
            "replace `panic($E)` with `log.Fatal($E)` in golang code",
            p("panic($E)", "log.Fatal($E)", None, Some("go")),
        ),
        (
            "replace `panic($E)` with `log.Fatal($E)` in go/",
            p("panic($E)", "log.Fatal($E)", Some("go/"), None),
        ),
        (
            "replace `print($X)` with `` in scripts/",
            p("print($X)", "", Some("scripts/"), None),
        ),
        (
            "replace `f($X)` with `g($X)` in the src directory",
            p("f($X)", "g($X)", Some("src"), None),
        ),
        (
            "replace `f($X)` with `g($X)` under lib",
            p("f($X)", "g($X)", Some("lib"), None),
        ),
        (
            "replace `f($X)` with `g($X)` within lib/core.py",
            p("f($X)", "g($X)", Some("lib/core.py"), None),
        ),
        (
            "replace `f($X)` with `g($X)` across packages/",
            p("f($X)", "g($X)", Some("packages/"), None),
        ),
        (
            "Replace `f($X)` with `g($X)`.",
            p("f($X)", "g($X)", None, None),
        ),
        // cleanup.
        ("remove unused imports", c(None)),
        ("remove unused imports in shop/", c(Some("shop/"))),
        (
            "remove unused imports from shop/util.py",
            c(Some("shop/util.py")),
        ),
        ("remove the unused imports in shop", c(Some("shop"))),
        ("remove all unused imports", c(None)),
        ("remove all the unused imports under src", c(Some("src"))),
        ("remove any unused imports within lib/", c(Some("lib/"))),
        ("remove unused import statements in shop/", c(Some("shop/"))),
        ("remove unneeded imports", c(None)),
        ("remove unreferenced imports in shop/", c(Some("shop/"))),
        ("remove dead imports", c(None)),
        ("delete unused imports", c(None)),
        ("delete unused imports in the shop package", c(Some("shop"))),
        ("drop unused imports", c(None)),
        (
            "drop imports that are unused in src/app",
            c(Some("src/app")),
        ),
        ("strip unused imports from tools/", c(Some("tools/"))),
        ("clean up unused imports", c(None)),
        ("clean up unused imports in shop/", c(Some("shop/"))),
        ("cleanup unused imports", c(None)),
        ("prune unused python imports across lib/", c(Some("lib/"))),
        (
            "tidy unused imports in the tests directory",
            c(Some("tests")),
        ),
        (
            "Remove unused imports in `src/my app`",
            c(Some("src/my app")),
        ),
        ("remove imports which are unused", c(None)),
        (
            "remove unused imports in shop/util.py.",
            c(Some("shop/util.py")),
        ),
        ("REMOVE UNUSED IMPORTS", c(None)),
        ("remove unused private functions", f(None)),
        (
            "remove parameter timeout from fetch",
            rp("timeout", "fetch", None, None),
        ),
        (
            "remove the parameter `timeout` of `fetch()`",
            rp("timeout", "fetch", None, None),
        ),
        (
            "delete argument cents from method Cart.add",
            rp("cents", "add", Some("Cart"), None),
        ),
        (
            "drop param label from describe in shop/util.py",
            rp("label", "describe", None, Some("shop/util.py")),
        ),
        (
            "remove unreferenced private functions in shop/",
            f(Some("shop/")),
        ),
        (
            "delete dead helper functions from src/app",
            f(Some("src/app")),
        ),
        (
            "remove unused internal functions in the shop package",
            f(Some("shop")),
        ),
        (
            "add parameter timeout=30 to fetch",
            add("timeout", "30", "fetch", None, None),
        ),
        (
            "add a parameter timeout = 30 to fetch",
            add("timeout", "30", "fetch", None, None),
        ),
        (
            "add an optional parameter `timeout=30` to function `fetch`",
            add("timeout", "30", "fetch", None, None),
        ),
        (
            "add keyword argument verbose with default False to Cart.add",
            add("verbose", "False", "add", Some("Cart"), None),
        ),
        (
            "add parameter retries defaulting to 3 to fetch() in net/client.py",
            add("retries", "3", "fetch", None, Some("net/client.py")),
        ),
        (
            "add parameter label='x' to shop.util.describe",
            add("label", "'x'", "describe", None, Some("shop.util")),
        ),
        ("make fetch_rates async", fa("fetch_rates", None, None)),
        (
            "convert fetch_rates and its callers to async",
            fa("fetch_rates", None, None),
        ),
        (
            "make the function `fetch_rates` async in shop/",
            fa("fetch_rates", None, Some("shop/")),
        ),
        (
            "make method Client.get asynchronous",
            fa("get", Some("Client"), None),
        ),
        ("asyncify fetch_rates()", fa("fetch_rates", None, None)),
        (
            "turn shop.rates.fetch into a coroutine",
            fa("fetch", None, Some("shop.rates")),
        ),
        (
            "change fetch_rates to async in the rates module",
            fa("fetch_rates", None, Some("rates")),
        ),
        ("make the pricing module async", ma("pricing")),
        ("make module shop.pricing async", ma("shop.pricing")),
        ("make shop/pricing.py async", ma("shop/pricing.py")),
        (
            "make all functions in shop/pricing.py async",
            ma("shop/pricing.py"),
        ),
        (
            "convert every function of the pricing module to async",
            ma("pricing"),
        ),
        ("make the `shop/tax/` package async", ma("shop/tax/")),
        (
            "move parse_price from shop/util.py to shop/money.py",
            mv(
                Any,
                "parse_price",
                Some("shop/util.py"),
                "shop/money.py",
                false,
            ),
        ),
        (
            "move function parse_price to shop/money.py",
            mv(Function, "parse_price", None, "shop/money.py", false),
        ),
        (
            "move class PriceList into the lists module",
            mv(Class, "PriceList", None, "lists", false),
        ),
        (
            "move shop.util.slug to shop/text.py and keep an alias",
            mv(Any, "slug", Some("shop.util"), "shop/text.py", true),
        ),
        (
            "move `parse_price()` out of the util module into money, leaving a re-export",
            mv(Any, "parse_price", Some("util"), "money", true),
        ),
        (
            "rename module store.util to store.helpers",
            rm("store.util", "store.helpers"),
        ),
        (
            "rename store/util.py to store/text.py",
            rm("store/util.py", "store/text.py"),
        ),
        ("rename the util module to helpers", rm("util", "helpers")),
        (
            "rename file `shop/util.py` as tools.py",
            rm("shop/util.py", "tools.py"),
        ),
        (
            "relocate class Cart from shop/cart.py to shop/models.py",
            mv(Class, "Cart", Some("shop/cart.py"), "shop/models.py", false),
        ),
    ];
    assert!(table.len() >= 100, "{} phrasings", table.len());
    for (text, expected) in table {
        assert_eq!(parse(text), Ok(expected), "{text}");
    }
}

/// Requests orch does not parse get up to three commands it does, filled
/// in with the request's own names (each of them parses).
#[test]
fn suggestions_fill_in_the_users_names() {
    for (request, first) in [
        (
            "make_str should be called make_text",
            "rename function make_str to make_text",
        ),
        (
            "change the name of make_str to make_text",
            "rename function make_str to make_text",
        ),
        (
            "please call make_str make_text instead",
            "rename function make_str to make_text",
        ),
        (
            "Cart.total ought to become grand_total",
            "rename method Cart.total to grand_total",
        ),
        (
            "HelpFormatter is better known as HelpWriter",
            "rename class HelpFormatter to HelpWriter",
        ),
        (
            "give describe a new keyword argument strict=False",
            "add parameter strict=False to describe",
        ),
        (
            "get rid of the cents argument of describe",
            "remove parameter cents from describe",
        ),
        (
            "Refactor the util module to use async patterns",
            "make the util module async",
        ),
        (
            "turn fetch_prices into a coroutine",
            "make fetch_prices async",
        ),
        (
            "relocate make_str over to shop/helpers.py",
            "move make_str to shop/helpers.py",
        ),
        (
            "replce `print($A)` with `log($A)`",
            "replace `print($A)` with `log($A)`",
        ),
        (
            "rewrite `os.getcwd()` as `Path.cwd()`",
            "replace `os.getcwd()` with `Path.cwd()`",
        ),
        (
            "reorder the arguments of Cart.add",
            "swap the parameters of Cart.add",
        ),
        (
            "take lines 12-18 of shop/cart.py and put them in a helper receipt_lines",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        (
            "make a method receipt_lines out of shop/cart.py 12-18",
            "extract lines 12-18 of shop/cart.py into method receipt_lines",
        ),
        (
            "could you inline make_str at its call sites",
            "inline function make_str",
        ),
        (
            "get the local total inlined into describe",
            "inline variable total in describe",
        ),
        (
            "the items field of Cart should really be entries",
            "rename attribute Cart.items to entries",
        ),
        (
            "Cart.items is an attribute I want renamed to entries",
            "rename attribute Cart.items to entries",
        ),
        (
            "exchange the order of name and cents in Cart.add",
            "swap parameters name and cents of Cart.add",
        ),
        (
            "_old_helper is dead code, get it out of here",
            "safe delete _old_helper",
        ),
    ] {
        let filled = super::suggest::did_you_mean(request);
        assert_eq!(
            filled.first().map(String::as_str),
            Some(first),
            "{request}: {filled:?}"
        );
        assert!(filled.len() <= 3, "{filled:?}");
        for command in &filled {
            assert!(parse(command).is_ok(), "{command}");
        }
        assert!(
            suggest(request).starts_with(&format!("did you mean: `{first}`")),
            "{}",
            suggest(request)
        );
    }
    assert!(
        suggest("make_str should be called make_text").contains("closest form: rename ["),
        "{}",
        suggest("make_str should be called make_text")
    );
    // Nothing to fill in: no guess.
    assert!(super::suggest::did_you_mean("frobnicate everything").is_empty());
}

#[test]
fn suggestions_name_the_closest_form() {
    assert!(suggest("renmae foo bar").contains("closest form: rename ["));
    assert!(suggest("replace foo").contains("closest form: replace `"));
    assert!(suggest("delete unused stuff").contains("closest form: remove unused"));
    assert!(suggest("make everything faster").contains("closest form: make"));
    assert!(suggest("frobnicate everything").contains("orch understands:"));
}

#[test]
fn refusals() {
    assert!(matches!(
        parse("make everything faster"),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(
        parse("rename make_str"),
        Err(Error::Unknown { .. })
    ));
    assert!(matches!(parse(""), Err(Error::Unknown { .. })));
    assert!(matches!(
        parse("rename a to class"),
        Err(Error::Keyword { .. })
    ));
    assert!(matches!(
        parse("rename a to 9lives"),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(parse("rename a to a"), Err(Error::SameName(_))));
    assert!(matches!(parse("rename `a to b"), Err(Error::Unbalanced(_))));
    assert_eq!(
        parse("extract lines 5-3 of shop/cart.py into function f"),
        Err(Error::LineRange { first: 5, last: 3 })
    );
    assert_eq!(
        parse("extract lines 0-3 of shop/cart.py into function f"),
        Err(Error::LineRange { first: 0, last: 3 })
    );
    assert!(matches!(
        parse("extract lines 1-3 of shop/cart.py into function class"),
        Err(Error::Keyword { .. })
    ));
}

#[test]
fn slug_is_branch_safe() {
    let intent = parse("rename function make_str to make_text").unwrap();
    assert_eq!(intent.slug(), "rename-make-str-to-make-text");
}

/// The ways people say it (the examples a new user typed) mean what the
/// canonical command means.
#[test]
fn people_phrase_it_their_way() {
    for (said, canonical) in [
        (
            "Rename the make_str function to make_text",
            "rename function make_str to make_text",
        ),
        (
            "make_str should be called make_text",
            "rename make_str to make_text",
        ),
        (
            "make_str should be renamed to make_text",
            "rename make_str to make_text",
        ),
        (
            "the make_str function should become make_text",
            "rename function make_str to make_text",
        ),
        (
            "change the name of make_str to make_text",
            "rename make_str to make_text",
        ),
        (
            "call make_str make_text instead",
            "rename make_str to make_text",
        ),
        (
            "rename make_str → make_text",
            "rename make_str to make_text",
        ),
        (
            "rename make_str => make_text",
            "rename make_str to make_text",
        ),
        (
            "please rename make_str to make_text everywhere",
            "rename make_str to make_text",
        ),
        (
            "could you rename all occurrences of make_str to make_text, thanks",
            "rename make_str to make_text",
        ),
        (
            "rename every use of make_str to make_text throughout the codebase",
            "rename make_str to make_text",
        ),
        (
            "rename the cents argument of describe to amount",
            "rename parameter cents of describe to amount",
        ),
        (
            "rename the Cart class to Basket",
            "rename class Cart to Basket",
        ),
        (
            "rename Cart's total method to grand_total",
            "rename method Cart.total to grand_total",
        ),
        (
            "rename the total method of Cart to grand_total",
            "rename method Cart.total to grand_total",
        ),
        (
            "give describe a new keyword argument strict=False",
            "add parameter strict=False to describe",
        ),
        (
            "give describe an optional parameter strict=False",
            "add parameter strict=False to describe",
        ),
        (
            "rewrite `os.getcwd()` as `Path.cwd()`",
            "replace `os.getcwd()` with `Path.cwd()`",
        ),
        (
            "transform `print($A)` into `log($A)`",
            "replace `print($A)` with `log($A)`",
        ),
        (
            "get rid of unused imports in shop/",
            "remove unused imports in shop/",
        ),
        (
            "Refactor the util module to use async patterns",
            "make the util module async",
        ),
        (
            "update the pricing module to be asynchronous",
            "make the pricing module async",
        ),
        (
            "i want to move function make_str to shop/helpers.py",
            "move function make_str to shop/helpers.py",
        ),
    ] {
        let expected = parse(canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        assert_eq!(parse(said), Ok(expected), "{said}");
    }
}

/// Filler around a valid command, or the case of its words, never changes
/// what it means (names keep their case: they are code).
#[test]
fn filler_and_case_never_change_the_intent() {
    let commands = [
        "rename function make_str to make_text",
        "rename class Cart to Basket in shop/cart.py",
        "rename method Cart.total to grand_total",
        "rename attribute Cart.items to entries",
        "inline function make_str in shop/util.py",
        "extract lines 12-18 of shop/cart.py into method receipt_lines",
        "rename parameter cents of describe to amount",
        "replace `os.path.join($A, $B)` with `Path($A) / $B` in src/",
        "remove unused imports in shop/",
        "add parameter strict=False to describe",
        "remove parameter cents from describe",
        "make describe async",
        "make the util module async",
        "move function make_str to shop/helpers.py",
    ];
    let before = [
        "please",
        "could you",
        "kindly",
        "please could you",
        "i want to",
        "go ahead and",
    ];
    let after = [
        "please",
        "everywhere",
        "thanks",
        "thank you",
        "throughout the project",
        "please thanks",
    ];
    for command in commands {
        let expected = parse(command).unwrap_or_else(|e| panic!("{command}: {e}"));
        for prefix in before {
            let said = format!("{prefix} {command}");
            assert_eq!(parse(&said).as_ref(), Ok(&expected), "{said}");
        }
        for suffix in after {
            let said = format!("{command} {suffix}");
            assert_eq!(parse(&said).as_ref(), Ok(&expected), "{said}");
        }
        // The command's words in any case (its first word, and every
        // lowercase keyword), names untouched.
        let mut words: Vec<String> = command.split(' ').map(str::to_owned).collect();
        for word in &mut words {
            if [
                "rename",
                "function",
                "class",
                "method",
                "attribute",
                "inline",
                "extract",
                "lines",
                "into",
                "parameter",
                "of",
                "to",
                "in",
                "with",
                "remove",
                "unused",
                "imports",
                "add",
                "from",
                "make",
                "async",
                "the",
                "module",
                "move",
                "replace",
            ]
            .contains(&word.as_str())
            {
                *word = word.to_uppercase();
            }
        }
        let shouted = words.join(" ");
        assert_eq!(parse(&shouted).as_ref(), Ok(&expected), "{shouted}");
        let capitalised = format!("{}{}", command[..1].to_uppercase(), &command[1..]);
        assert_eq!(parse(&capitalised).as_ref(), Ok(&expected), "{capitalised}");
    }
}

/// More of the way people ask, for every refactor orch makes: each says
/// what its canonical command says.
#[test]
fn every_refactor_said_several_ways() {
    let pairs = [
        // Renames.
        (
            "rename make_str() to make_text()",
            "rename make_str to make_text",
        ),
        (
            "Rename function `make_str` to `make_text`",
            "rename function make_str to make_text",
        ),
        (
            "rename the function make_str to make_text",
            "rename function make_str to make_text",
        ),
        ("rename class Cart to Basket", "rename class Cart to Basket"),
        (
            "rename the Cart class to Basket",
            "rename class Cart to Basket",
        ),
        ("Cart should be called Basket", "rename Cart to Basket"),
        (
            "rename constant LIMIT to MAX_ITEMS",
            "rename variable LIMIT to MAX_ITEMS",
        ),
        (
            "rename make_str to make_text in shop/util.py",
            "rename make_str to make_text in shop/util.py",
        ),
        (
            "rename method total of Cart to grand_total",
            "rename method Cart.total to grand_total",
        ),
        (
            "rename the total method of Cart to grand_total",
            "rename method Cart.total to grand_total",
        ),
        (
            "rename Cart's total method to grand_total",
            "rename method Cart.total to grand_total",
        ),
        ("rename the symbol Cart to Basket", "rename Cart to Basket"),
        ("rename name to title", "rename name to title"),
        // Inline function.
        ("inline function make_str", "inline function make_str"),
        ("inline make_str", "inline function make_str"),
        ("inline make_str()", "inline function make_str"),
        ("inline all calls to make_str", "inline function make_str"),
        (
            "inline every call of make_str in shop/util.py",
            "inline function make_str in shop/util.py",
        ),
        (
            "please inline the helper make_str everywhere",
            "inline function make_str",
        ),
        ("Inline the make_str function", "inline function make_str"),
        (
            "inline calls of shop.util.make_str",
            "inline function make_str in shop.util",
        ),
        (
            "inline the function make_str from the module shop.util",
            "inline function make_str in shop.util",
        ),
        (
            "inline total in describe",
            "inline variable total in describe",
        ),
        (
            "inline make_str in shop/util.py",
            "inline function make_str in shop/util.py",
        ),
        (
            "extract lines 12..18 of shop/cart.py as receipt_lines",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        // Extract function / method.
        (
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        (
            "extract lines 12 to 18 in shop/cart.py as a function named receipt_lines",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        (
            "extract shop/cart.py:12-18 into receipt_lines",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        (
            "pull lines 12..18 of shop/cart.py out into a new function called receipt_lines",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        (
            "extract function receipt_lines from lines 12-18 of shop/cart.py",
            "extract lines 12-18 of shop/cart.py into function receipt_lines",
        ),
        (
            "extract method receipt_lines from shop/cart.py:12-18",
            "extract lines 12-18 of shop/cart.py into method receipt_lines",
        ),
        (
            "Extract lines 12 through 18 from cart.py into a method receipt_lines",
            "extract lines 12-18 of cart.py into method receipt_lines",
        ),
        (
            "factor out lines 12-18 of shop/cart.py into its own method receipt_lines()",
            "extract lines 12-18 of shop/cart.py into method receipt_lines",
        ),
        (
            "extract line 14 of shop/cart.py into function add_line",
            "extract lines 14-14 of shop/cart.py into function add_line",
        ),
        (
            "extract the expression `price.cents * qty` in line_total into a function cost",
            "extract `price.cents * qty` in line_total into function cost",
        ),
        (
            "extract `sum(p.cents for _, p in self.items)` in Cart.total into a method subtotal",
            "extract `sum(p.cents for _, p in self.items)` in Cart.total into method subtotal",
        ),
        (
            "extract `price.cents * qty` from function line_total in shop/cart.py as cost",
            "extract `price.cents * qty` in line_total in shop/cart.py into function cost",
        ),
        // Attributes.
        (
            "rename attribute Cart.items to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename the items attribute of Cart to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename Cart's items attribute to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename the field items of Cart to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename the items field on Cart to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename instance attribute Cart.items to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename attr items of class Cart to lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename attribute shop.cart.Cart.items -> lines",
            "rename attribute Cart.items to lines in shop.cart",
        ),
        (
            "Cart's items attribute should be called lines",
            "rename attribute Cart.items to lines",
        ),
        (
            "rename Cart's total property to grand_total",
            "rename method Cart.total to grand_total",
        ),
        (
            "rename the cents argument of describe to amount",
            "rename parameter cents of describe to amount",
        ),
        (
            "rename parameter cents in function describe to amount",
            "rename parameter cents of describe to amount",
        ),
        (
            "rename make_str -> make_text",
            "rename make_str to make_text",
        ),
        (
            "please rename make_str to make_text, thanks",
            "rename make_str to make_text",
        ),
        (
            "rename module util to helpers",
            "rename module util to helpers",
        ),
        (
            "rename shop/util.py to shop/helpers.py",
            "rename module shop/util.py to shop/helpers.py",
        ),
        // Replacements.
        (
            "replace `print($A)` with `log($A)`",
            "replace `print($A)` with `log($A)`",
        ),
        (
            "replace all `print($A)` with `log($A)` in src/",
            "replace `print($A)` with `log($A)` in src/",
        ),
        (
            "rewrite `print($A)` as `log($A)`",
            "replace `print($A)` with `log($A)`",
        ),
        (
            "transform `print($A)` into `log($A)`",
            "replace `print($A)` with `log($A)`",
        ),
        // Parameters.
        (
            "add parameter strict=False to describe",
            "add parameter strict=False to describe",
        ),
        (
            "add a strict=False parameter to describe",
            "add parameter strict=False to describe",
        ),
        (
            "add keyword argument strict=False to describe",
            "add parameter strict=False to describe",
        ),
        (
            "add parameter strict with default False to describe",
            "add parameter strict=False to describe",
        ),
        (
            "give describe a new keyword argument strict=False",
            "add parameter strict=False to describe",
        ),
        (
            "remove parameter label from describe",
            "remove parameter label from describe",
        ),
        (
            "remove the label argument from describe",
            "remove parameter label from describe",
        ),
        (
            "drop parameter label of describe",
            "remove parameter label from describe",
        ),
        (
            "get rid of the label parameter in describe",
            "remove parameter label from describe",
        ),
        // Async.
        ("make fetch_prices async", "make fetch_prices async"),
        ("make fetch_prices asynchronous", "make fetch_prices async"),
        ("convert fetch_prices to async", "make fetch_prices async"),
        ("asyncify fetch_prices", "make fetch_prices async"),
        (
            "turn fetch_prices into a coroutine",
            "make fetch_prices async",
        ),
        (
            "make the pricing module async",
            "make the pricing module async",
        ),
        (
            "Refactor the pricing module to use async patterns",
            "make the pricing module async",
        ),
        // Moves.
        (
            "move function helper to shop/helpers.py",
            "move function helper to shop/helpers.py",
        ),
        (
            "move helper from util.py to shop/helpers.py",
            "move helper from util.py to shop/helpers.py",
        ),
        (
            "relocate class Cart to shop/models.py",
            "move class Cart to shop/models.py",
        ),
        ("move helper into the money module", "move helper to money"),
        // Clean-ups.
        ("remove unused imports", "remove unused imports"),
        (
            "clean up unused imports in shop/",
            "remove unused imports in shop/",
        ),
        (
            "delete unused private functions",
            "remove unused private functions",
        ),
        // Safe delete.
        ("safe delete _orphan", "safe delete _orphan"),
        (
            "safely delete the function _orphan",
            "safe delete function _orphan",
        ),
        ("delete the unused class Ledger", "safe delete class Ledger"),
        (
            "remove method Cart.receipt if unused",
            "safe delete method Cart.receipt",
        ),
        ("get rid of _orphan", "safe delete _orphan"),
        (
            "drop variable UNUSED_LIMIT",
            "safe delete variable UNUSED_LIMIT",
        ),
        // Reordering.
        (
            "move parameter sep before label in describe",
            "move parameter sep before label in describe",
        ),
        (
            "put the sep parameter after cents in describe",
            "move parameter sep after cents in describe",
        ),
        (
            "swap parameters label and sep of describe",
            "swap parameters label and sep of describe",
        ),
        (
            "switch the params label and sep in describe",
            "swap parameters label and sep of describe",
        ),
        (
            "swap the arguments of Cart.add",
            "swap the parameters of Cart.add",
        ),
        (
            "please swap the parameters of Cart.add",
            "swap the parameters of Cart.add",
        ),
        // Inline variable.
        (
            "inline variable factor in gross",
            "inline variable factor in gross",
        ),
        (
            "inline the local factor in function gross",
            "inline variable factor in gross",
        ),
        (
            "inline factor in Tax.gross",
            "inline variable factor in Tax.gross",
        ),
        // A private class is still a class.
        (
            "inline x in _FixupStream.readable",
            "inline variable x in method _FixupStream.readable",
        ),
        (
            "inline the factor variable inside gross in shop/tax.py",
            "inline variable factor in gross in shop/tax.py",
        ),
    ];
    let mut failed = Vec::new();
    for (said, canonical) in pairs {
        let expected = parse(canonical).unwrap_or_else(|e| panic!("{canonical}: {e}"));
        // What orch says it read reads the same.
        let described = expected.describe();
        if parse(&described).as_ref() != Ok(&expected) {
            failed.push(format!(
                "described {described:?} -> {:?}",
                parse(&described)
            ));
        }
        if parse(said) != Ok(expected) {
            failed.push(format!("{said:?} -> {:?}", parse(said)));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
