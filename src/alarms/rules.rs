//! The rule service: validating input into a [`Rule`], storing it and keeping the
//! in-memory set of enabled rules that the ingest path reads.

use std::sync::Arc;

use super::{
    error::AlarmError,
    input::{Problems, RuleInput, parse_attribute, parse_condition, parse_name},
    rule::{Rule, Scope},
    store::{self, Deleted},
};
use crate::{
    cases::catalogue::{CategoryCode, snapshot::cached_category},
    db::{Db, snapshot::Snapshots},
    http::UserMessage,
    sensors::{DeviceKind, SensorStore},
};

/// The enabled rules per database. Every batch reads them, so they are kept in memory;
/// an edit on another node shows once the snapshot expires (two seconds).
static ENABLED_RULES: Snapshots<Vec<Rule>> = Snapshots::new();

/// Returns the enabled rules.
///
/// # Errors
/// A database failure or a corrupt stored rule.
pub async fn enabled_rules(db: &Db) -> Result<Arc<Vec<Rule>>, AlarmError> {
    ENABLED_RULES
        .get_or_load(db, async {
            let rules = store::list_rules(db).await?;
            Ok::<_, AlarmError>(rules.into_iter().filter(|rule| rule.enabled).collect())
        })
        .await
}

/// Validates `input` into a rule with id `rule_id` (0 for a new one), checking the
/// device or kind, the attribute and the category against the stored data.
///
/// # Errors
/// [`AlarmError::Invalid`] with one message per invalid field.
pub async fn parse_rule(
    db: &Db,
    rule_id: i64,
    input: &RuleInput,
    now_ms: i64,
) -> Result<Rule, AlarmError> {
    let mut problems = Problems::default();
    let name = parse_name(input, &mut problems);
    let scope = parse_scope(db, input, &mut problems).await?;
    let attribute = scope.as_ref().and_then(|s| parse_attribute(input, s.kind(), &mut problems));
    let condition = parse_condition(input, &mut problems);
    let category_code = input.category_code.as_deref().map(str::trim).unwrap_or_default();
    let category = match CategoryCode::parse(category_code) {
        Some(code) => cached_category(db, &code).await.map_err(catalogue_error)?,
        None => None,
    };
    if category.is_none() {
        problems.push(
            UserMessage::new("unknown_category").arg("code", category_code).field("category_code"),
        );
    }
    match (scope, attribute, condition) {
        (Some(scope), Some(attribute), Some(condition)) if problems.0.is_empty() => Ok(Rule {
            rule_id,
            name,
            scope,
            attribute,
            condition,
            category_code: category_code.to_owned(),
            enabled: input.enabled.unwrap_or(true),
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        }),
        _ => Err(AlarmError::Invalid(problems.0)),
    }
}

fn catalogue_error(error: crate::cases::catalogue::store::StoreError) -> AlarmError {
    AlarmError::Case(error.into())
}

/// Resolves `device` or `kind`; exactly one of them must be given.
async fn parse_scope(
    db: &Db,
    input: &RuleInput,
    problems: &mut Problems,
) -> Result<Option<Scope>, AlarmError> {
    let trimmed = |text: &Option<String>| {
        text.as_deref().map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
    };
    match (trimmed(&input.device), trimmed(&input.kind)) {
        (Some(external_id), None) => {
            let device = db.device(&external_id).await?;
            match device {
                Some(device) => Ok(Some(Scope::Device {
                    device_id: device.device_id,
                    external_id,
                    kind: device.kind,
                })),
                None => {
                    problems.push(
                        UserMessage::new("sensor_rule_device_unknown")
                            .arg("device", external_id)
                            .field("device"),
                    );
                    Ok(None)
                }
            }
        }
        (None, Some(kind)) => match DeviceKind::parse(&kind) {
            Some(kind) => Ok(Some(Scope::Kind(kind))),
            None => {
                let allowed: Vec<&str> = DeviceKind::ALL.iter().map(|k| k.as_str()).collect();
                problems.push(
                    UserMessage::new("sensor_rule_kind_unknown")
                        .arg("value", kind)
                        .arg("allowed", allowed.join(", "))
                        .field("kind"),
                );
                Ok(None)
            }
        },
        _ => {
            problems.push(UserMessage::new("sensor_rule_scope_invalid").field("device"));
            Ok(None)
        }
    }
}

/// Stores a new rule and returns it with its id.
pub async fn create_rule(db: &Db, input: &RuleInput, now_ms: i64) -> Result<Rule, AlarmError> {
    let rule = parse_rule(db, 0, input, now_ms).await?;
    let rule_id = store::insert_rule(db, &rule).await?;
    ENABLED_RULES.forget(db);
    tracing::info!(
        rule.id = rule_id,
        rule.kind = rule.condition.rule_type().as_str(),
        "sensor rule created"
    );
    Ok(Rule { rule_id, ..rule })
}

/// Replaces rule `rule_id` with `input`.
///
/// # Errors
/// [`AlarmError::RuleNotFound`], or [`AlarmError::Invalid`] naming the fields.
pub async fn update_rule(
    db: &Db,
    rule_id: i64,
    input: &RuleInput,
    now_ms: i64,
) -> Result<Rule, AlarmError> {
    let old = store::rule_by_id(db, rule_id).await?.ok_or(AlarmError::RuleNotFound(rule_id))?;
    let rule =
        Rule { created_at_ms: old.created_at_ms, ..parse_rule(db, rule_id, input, now_ms).await? };
    if !store::update_rule(db, &rule).await? {
        return Err(AlarmError::RuleNotFound(rule_id));
    }
    ENABLED_RULES.forget(db);
    tracing::info!(rule.id = rule_id, "sensor rule updated");
    Ok(rule)
}

/// Deletes a rule without open alarms.
///
/// # Errors
/// [`AlarmError::RuleNotFound`] or [`AlarmError::RuleHasOpenAlarms`].
pub async fn delete_rule(db: &Db, rule_id: i64) -> Result<(), AlarmError> {
    match store::delete_rule(db, rule_id).await? {
        Deleted::Deleted => {
            ENABLED_RULES.forget(db);
            tracing::info!(rule.id = rule_id, "sensor rule deleted");
            Ok(())
        }
        Deleted::NotFound => Err(AlarmError::RuleNotFound(rule_id)),
        Deleted::HasOpenAlarms => Err(AlarmError::RuleHasOpenAlarms(rule_id)),
    }
}
