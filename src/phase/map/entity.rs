//! Entity resolution: when a rename's words leave the kind open
//! (`rename Cart.total to grand_total`, `rename util to helpers`), the
//! project decides what the name is.
//!
//! A name with a module-level definition keeps the reading the words give
//! (the rename of that definition, with its own ambiguity rules). Else the
//! readings are the methods and the attributes of that name (of the class
//! the qualifier names, if it names one) and, for a bare name, the module
//! of that name.
//! One reading is taken, and said; several are listed as full commands to
//! copy (exit 2): orch never guesses.

use super::super::{Context, Failure};
use crate::intent::{Intent, Rename, SymbolKind};
use crate::protocol::code::{DefinitionKind, Definitions, Modules};

/// The intent the project gives `intent`, and why; `None` when the words
/// decide (or nothing else is found: the rename then fails as it would).
pub(crate) async fn resolve(
    ctx: &Context,
    intent: &Intent,
) -> Result<Option<(Intent, String)>, Failure> {
    let Intent::Rename(rename) = intent else {
        return Ok(None);
    };
    if rename.symbol != SymbolKind::Any || rename.class.is_some() || rename.function.is_some() {
        return Ok(None);
    }
    let module_level = ctx
        .pool
        .request(&Definitions {
            name: rename.old.clone(),
            kind: DefinitionKind::Any,
            focused: true,
        })
        .await?;
    let qualifier = rename.scope.as_deref();
    // A qualifier that is a path or a module of the project stays one.
    let class_like = qualifier.filter(|q| !q.contains('/') && !q.ends_with(".py"));
    let defined_in_scope = |module: &str, path: &str| match qualifier {
        None => true,
        Some(q) => {
            let dotted = q.trim_end_matches(".py").replace('/', ".");
            module == dotted
                || module.ends_with(&format!(".{dotted}"))
                || path
                    .trim_end_matches(".py")
                    .ends_with(q.trim_end_matches(".py"))
        }
    };
    if module_level
        .definitions
        .iter()
        .any(|d| defined_in_scope(&d.module, &d.path))
    {
        return Ok(None);
    }
    if qualifier.is_some() && class_like.is_none() {
        return Ok(None);
    }
    let mut readings: Vec<(String, String)> = Vec::new();
    let methods = ctx
        .pool
        .request(&Definitions {
            name: rename.old.clone(),
            kind: DefinitionKind::Method,
            focused: true,
        })
        .await?;
    let class_name = class_like.map(|q| q.rsplit('.').next().unwrap_or(q));
    let mut classes: Vec<&str> = methods
        .definitions
        .iter()
        .filter_map(|d| d.class.as_deref())
        .filter(|c| class_name.is_none_or(|want| *c == want))
        .collect();
    classes.sort_unstable();
    classes.dedup();
    for class in &classes {
        readings.push((
            format!("rename method {class}.{} to {}", rename.old, rename.new),
            format!("`{class}.{}` is a method", rename.old),
        ));
    }
    // Attributes of classes that do not define the name as a method (a
    // method rename renames the member family-wide already).
    let attributes = ctx
        .pool
        .request(&Definitions {
            name: rename.old.clone(),
            kind: DefinitionKind::Attribute,
            focused: true,
        })
        .await?;
    let mut owners: Vec<&str> = attributes
        .definitions
        .iter()
        .filter_map(|d| d.class.as_deref())
        .filter(|c| class_name.is_none_or(|want| *c == want) && !classes.contains(c))
        .collect();
    owners.sort_unstable();
    owners.dedup();
    for class in owners {
        readings.push((
            format!("rename attribute {class}.{} to {}", rename.old, rename.new),
            format!("`{class}.{}` is an attribute", rename.old),
        ));
    }
    if qualifier.is_none() {
        let modules = ctx
            .pool
            .request(&Modules {
                name: rename.old.clone(),
            })
            .await?;
        for module in modules
            .matches
            .iter()
            .filter(|m| !m.package && m.module.rsplit('.').next() == Some(rename.old.as_str()))
        {
            readings.push((
                format!("rename module {} to {}", module.module, rename.new),
                format!("`{}` is the module {}", rename.old, module.path),
            ));
        }
    }
    match readings.len() {
        0 => {
            if let Some(class) = class_name {
                refuse_attribute(ctx, rename, class).await?;
            }
            Ok(None)
        }
        1 => {
            let (command, why) = readings.remove(0);
            let intent = crate::intent::parse(&command)
                .map_err(|e| Failure::internal(format!("the reading `{command}`: {e}")))?;
            Ok(Some((intent, format!("read as `{command}`: {why}"))))
        }
        _ => {
            let list: Vec<String> = readings
                .iter()
                .map(|(command, why)| format!("  orch run \"{command}\"   ({why})"))
                .collect();
            Err(Failure::input(
                format!(
                    "`{}` could mean {} things in this project; say which:\n{}",
                    qualifier.map_or(rename.old.clone(), |q| format!("{q}.{}", rename.old)),
                    readings.len(),
                    list.join("\n")
                ),
                Some("copy the command you mean".into()),
            ))
        }
    }
}

/// `rename C.x` where `C` is a class of the project that neither defines
/// nor assigns `x`: say so rather than "no module-level symbol".
async fn refuse_attribute(ctx: &Context, rename: &Rename, class: &str) -> Result<(), Failure> {
    let classes = ctx
        .pool
        .request(&Definitions {
            name: class.to_owned(),
            kind: DefinitionKind::Class,
            focused: true,
        })
        .await?;
    if classes.definitions.is_empty() {
        return Ok(());
    }
    Err(Failure::input(
        format!(
            "the class `{class}` has no method or attribute `{}` of its own (an attribute inherited from a base class is renamed in that class)",
            rename.old
        ),
        Some(format!(
            "name the class that defines it: `rename attribute BASE.{} to {}`",
            rename.old, rename.new
        )),
    ))
}
