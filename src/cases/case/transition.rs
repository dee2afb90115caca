//! The transition table of the case loop and the pure function that applies it.
//!
//! [`next_stage`] decides from the current stage, the action and the actor alone, so
//! the whole table is unit-tested without a database. Side effects such as counting
//! rework or moving a deadline belong to the service that stores the transition.

use chrono::{DateTime, TimeDelta, Utc};

use super::stage::{Action, Stage};
use crate::accounts::Role;

/// One row of the transition table: `action` moves a case from any of `from` to `to`.
struct Rule {
    action: Action,
    from: &'static [Stage],
    to: Stage,
    /// Roles that may take the action on any case in their area scope.
    roles: &'static [Role],
    /// Whether the person who reported the case may take it whatever their role.
    reporter_may: bool,
}

const DISPATCHER: &[Role] = &[Role::Dispatcher];
const HANDLER: &[Role] = &[Role::Handler];
const VERIFIERS: &[Role] = &[Role::GridWorker, Role::Dispatcher];
const BEFORE_DISPATCH: &[Stage] = &[Stage::Intake, Stage::Filed];

/// The whole table. A dispatcher may rate or reopen on a caller's behalf because
/// hotline callers have no account. An action may have several rows when its target
/// stage depends on the stage it starts from.
const RULES: &[Rule] = &[
    rule(Action::File, &[Stage::Intake], Stage::Filed, DISPATCHER),
    rule(Action::Dispatch, &[Stage::Filed], Stage::Dispatched, DISPATCHER),
    rule(Action::Accept, &[Stage::Dispatched], Stage::Handling, HANDLER),
    rule(Action::Return, &[Stage::Dispatched, Stage::Handling], Stage::Filed, HANDLER),
    rule(
        Action::Redispatch,
        &[Stage::Dispatched, Stage::Handling, Stage::ExtensionRequested],
        Stage::Dispatched,
        DISPATCHER,
    ),
    rule(Action::RequestExtension, &[Stage::Handling], Stage::ExtensionRequested, HANDLER),
    rule(Action::ApproveExtension, &[Stage::ExtensionRequested], Stage::Handling, DISPATCHER),
    rule(Action::RejectExtension, &[Stage::ExtensionRequested], Stage::Handling, DISPATCHER),
    rule(Action::ReportDone, &[Stage::Handling], Stage::Feedback, HANDLER),
    rule(Action::Verify, &[Stage::Feedback], Stage::Closed, VERIFIERS),
    rule(Action::Rework, &[Stage::Feedback], Stage::Handling, VERIFIERS),
    Rule {
        action: Action::Rate,
        from: &[Stage::Closed],
        to: Stage::Rated,
        roles: DISPATCHER,
        reporter_may: true,
    },
    Rule {
        action: Action::Reopen,
        from: &[Stage::Closed, Stage::Rated],
        to: Stage::Dispatched,
        roles: DISPATCHER,
        reporter_may: true,
    },
    rule(Action::Void, BEFORE_DISPATCH, Stage::Voided, DISPATCHER),
    rule(Action::Merge, BEFORE_DISPATCH, Stage::Merged, DISPATCHER),
    // Re-classification is allowed until the department reports the work done. It
    // keeps a case before dispatch in its stage, and sends a dispatched or handled case
    // (back) to dispatched, so that the department it is routed to now accepts it. It is
    // not allowed while an extension request waits, which the dispatcher decides first.
    rule(Action::Reclassify, &[Stage::Intake], Stage::Intake, DISPATCHER),
    rule(Action::Reclassify, &[Stage::Filed], Stage::Filed, DISPATCHER),
    rule(Action::Reclassify, &[Stage::Dispatched, Stage::Handling], Stage::Dispatched, DISPATCHER),
];

const fn rule(action: Action, from: &'static [Stage], to: Stage, roles: &'static [Role]) -> Rule {
    Rule { action, from, to, roles, reporter_may: false }
}

/// The person taking an action: their role and whether they reported the case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub role: Role,
    pub is_reporter: bool,
}

/// The reason [`next_stage`] rejected an action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The action does not apply in the current stage, and `allowed` lists the actions the
    /// actor may take there instead.
    #[error("action {action:?} is not allowed in stage {stage:?}; allowed: {allowed:?}")]
    NotAllowedInStage { stage: Stage, action: Action, allowed: Vec<Action> },
    /// The action applies in this stage, but not for this actor.
    #[error("role {role:?} may not {action:?} a case in stage {stage:?}")]
    NotPermitted { stage: Stage, action: Action, role: Role },
}

fn may_act(rule: &Rule, actor: Actor) -> bool {
    rule.roles.contains(&actor.role) || (rule.reporter_may && actor.is_reporter)
}

/// Returns the stage that `action` by `actor` leads to from `stage`.
///
/// # Errors
/// [`TransitionError::NotAllowedInStage`] when no rule starts at `stage` with this
/// action, and [`TransitionError::NotPermitted`] when one does but the actor may not
/// take it.
pub fn next_stage(stage: Stage, action: Action, actor: Actor) -> Result<Stage, TransitionError> {
    let Some(rule) = RULES.iter().find(|rule| rule.action == action && rule.from.contains(&stage))
    else {
        return Err(TransitionError::NotAllowedInStage {
            stage,
            action,
            allowed: allowed_actions(stage, actor),
        });
    };
    if may_act(rule, actor) {
        Ok(rule.to)
    } else {
        Err(TransitionError::NotPermitted { stage, action, role: actor.role })
    }
}

/// Lists the actions `actor` may take in `stage`, in the table's order.
pub fn allowed_actions(stage: Stage, actor: Actor) -> Vec<Action> {
    RULES
        .iter()
        .filter(|rule| rule.from.contains(&stage) && may_act(rule, actor))
        .map(|rule| rule.action)
        .collect()
}

/// Checks that a case closed at `closed_at` may still be reopened at `now`. The window
/// counts calendar days, not working days, so that weekends do not extend it.
pub fn within_reopen_window(
    closed_at: DateTime<Utc>,
    now: DateTime<Utc>,
    window_days: u32,
) -> bool {
    now - closed_at <= TimeDelta::days(i64::from(window_days))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn staff(role: Role) -> Actor {
        Actor { role, is_reporter: false }
    }

    fn reporter(role: Role) -> Actor {
        Actor { role, is_reporter: true }
    }

    #[test]
    fn every_allowed_transition_reaches_its_stage() {
        use Stage::*;
        let dispatcher = staff(Role::Dispatcher);
        let handler = staff(Role::Handler);
        let grid_worker = staff(Role::GridWorker);
        let resident = reporter(Role::Resident);
        let cases = [
            ("file a report", Intake, Action::File, dispatcher, Filed),
            ("dispatch a filed case", Filed, Action::Dispatch, dispatcher, Dispatched),
            ("accept a dispatched case", Dispatched, Action::Accept, handler, Handling),
            ("return before starting", Dispatched, Action::Return, handler, Filed),
            ("return while handling", Handling, Action::Return, handler, Filed),
            (
                "redispatch a dispatched case",
                Dispatched,
                Action::Redispatch,
                dispatcher,
                Dispatched,
            ),
            ("redispatch while handling", Handling, Action::Redispatch, dispatcher, Dispatched),
            (
                "redispatch during an extension request",
                ExtensionRequested,
                Action::Redispatch,
                dispatcher,
                Dispatched,
            ),
            (
                "request an extension",
                Handling,
                Action::RequestExtension,
                handler,
                ExtensionRequested,
            ),
            (
                "approve an extension",
                ExtensionRequested,
                Action::ApproveExtension,
                dispatcher,
                Handling,
            ),
            (
                "reject an extension",
                ExtensionRequested,
                Action::RejectExtension,
                dispatcher,
                Handling,
            ),
            ("report work done", Handling, Action::ReportDone, handler, Feedback),
            ("grid worker verifies", Feedback, Action::Verify, grid_worker, Closed),
            ("dispatcher verifies", Feedback, Action::Verify, dispatcher, Closed),
            ("grid worker orders rework", Feedback, Action::Rework, grid_worker, Handling),
            ("dispatcher orders rework", Feedback, Action::Rework, dispatcher, Handling),
            ("reporter rates", Closed, Action::Rate, resident, Rated),
            ("dispatcher records a caller's rating", Closed, Action::Rate, dispatcher, Rated),
            ("reporter reopens a closed case", Closed, Action::Reopen, resident, Dispatched),
            ("reporter reopens a rated case", Rated, Action::Reopen, resident, Dispatched),
            ("dispatcher reopens", Closed, Action::Reopen, dispatcher, Dispatched),
            ("void a report", Intake, Action::Void, dispatcher, Voided),
            ("void a filed case", Filed, Action::Void, dispatcher, Voided),
            ("merge a report", Intake, Action::Merge, dispatcher, Merged),
            ("merge a filed case", Filed, Action::Merge, dispatcher, Merged),
            ("reclassify a report", Intake, Action::Reclassify, dispatcher, Intake),
            ("reclassify a filed case", Filed, Action::Reclassify, dispatcher, Filed),
            (
                "reclassify a dispatched case",
                Dispatched,
                Action::Reclassify,
                dispatcher,
                Dispatched,
            ),
            ("reclassify while handling", Handling, Action::Reclassify, dispatcher, Dispatched),
        ];
        for (description, from, action, actor, expected) in cases {
            assert_eq!(next_stage(from, action, actor), Ok(expected), "{description}");
        }
    }

    #[test]
    fn every_table_row_is_covered_by_some_role() {
        for rule in RULES {
            assert!(!rule.from.is_empty(), "{:?} starts somewhere", rule.action);
            assert!(!rule.roles.is_empty(), "{:?} has a role", rule.action);
        }
        for action in Action::ALL.into_iter().filter(|action| *action != Action::Note) {
            assert!(RULES.iter().any(|rule| rule.action == action), "{action:?} has a rule");
        }
    }

    #[test]
    fn actions_outside_their_stage_name_the_allowed_ones() {
        use Stage::*;
        let dispatcher = staff(Role::Dispatcher);
        let cases = [
            (
                "dispatch before filing",
                Intake,
                Action::Dispatch,
                vec![Action::File, Action::Void, Action::Merge, Action::Reclassify],
            ),
            (
                "verify while handling",
                Handling,
                Action::Verify,
                vec![Action::Redispatch, Action::Reclassify],
            ),
            ("rework a closed case", Closed, Action::Rework, vec![Action::Rate, Action::Reopen]),
            (
                "void a dispatched case",
                Dispatched,
                Action::Void,
                vec![Action::Redispatch, Action::Reclassify],
            ),
            (
                "reclassify after the work is reported done",
                Feedback,
                Action::Reclassify,
                vec![Action::Verify, Action::Rework],
            ),
            (
                "reclassify during an extension request",
                ExtensionRequested,
                Action::Reclassify,
                vec![Action::Redispatch, Action::ApproveExtension, Action::RejectExtension],
            ),
            ("file a voided report", Voided, Action::File, vec![]),
            ("reopen a merged report", Merged, Action::Reopen, vec![]),
        ];
        for (description, stage, action, allowed) in cases {
            let expected = TransitionError::NotAllowedInStage { stage, action, allowed };
            assert_eq!(next_stage(stage, action, dispatcher), Err(expected), "{description}");
        }
    }

    #[test]
    fn wrong_roles_are_not_permitted() {
        use Stage::*;
        let cases = [
            ("resident files", Intake, Action::File, staff(Role::Resident)),
            ("handler dispatches", Filed, Action::Dispatch, staff(Role::Handler)),
            (
                "dispatcher accepts for the department",
                Dispatched,
                Action::Accept,
                staff(Role::Dispatcher),
            ),
            (
                "handler approves its own extension",
                ExtensionRequested,
                Action::ApproveExtension,
                staff(Role::Handler),
            ),
            ("handler verifies its own work", Feedback, Action::Verify, staff(Role::Handler)),
            (
                "resident rates a case they did not report",
                Closed,
                Action::Rate,
                staff(Role::Resident),
            ),
            ("grid worker reopens another's case", Closed, Action::Reopen, staff(Role::GridWorker)),
            ("administrator voids", Intake, Action::Void, staff(Role::Administrator)),
            ("handler reclassifies", Handling, Action::Reclassify, staff(Role::Handler)),
        ];
        for (description, stage, action, actor) in cases {
            let result = next_stage(stage, action, actor);
            let expected = TransitionError::NotPermitted { stage, action, role: actor.role };
            assert_eq!(result, Err(expected), "{description}");
        }
    }

    #[test]
    fn closed_stages_allow_nothing_but_rating_and_reopening() {
        let dispatcher = staff(Role::Dispatcher);
        for stage in [Stage::Voided, Stage::Merged] {
            assert!(allowed_actions(stage, dispatcher).is_empty(), "{stage:?}");
            assert!(!stage.is_open());
        }
        assert_eq!(allowed_actions(Stage::Rated, dispatcher), vec![Action::Reopen]);
    }

    #[test]
    fn reopen_window_includes_its_last_moment() {
        let closed = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z").unwrap().to_utc();
        let inside = closed + TimeDelta::days(7);
        let outside = inside + TimeDelta::seconds(1);
        assert!(within_reopen_window(closed, inside, 7));
        assert!(!within_reopen_window(closed, outside, 7));
    }

    #[test]
    fn stage_and_action_names_round_trip() {
        for stage in Stage::ALL {
            assert_eq!(Stage::parse(stage.as_str()), Some(stage));
        }
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
        }
    }
}
