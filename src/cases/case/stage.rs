//! The stages of a case and the actions that move it between them.

use serde::{Deserialize, Serialize};

/// The position of a case in the closed loop (接诉即办).
///
/// The seven stages of digital city management run from [`Stage::Intake`] to
/// [`Stage::Rated`]. [`Stage::ExtensionRequested`] pauses handling while a dispatcher
/// decides on a request for more time. [`Stage::Voided`] and [`Stage::Merged`] end a
/// report that is not a case of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 受理: reported and waiting for a dispatcher to file it.
    Intake,
    /// 立案: accepted as a case and waiting for dispatch, also after a return (退单).
    Filed,
    /// 派遣: sent to a department that has not yet started.
    Dispatched,
    /// 处置: the department is working on it.
    Handling,
    /// 延期申请: the department asked for more time and waits for a decision.
    ExtensionRequested,
    /// 反馈: the department reports it done and the site waits for verification.
    Feedback,
    /// 核查结案: verified on site and closed.
    Closed,
    /// 评价: the reporter rated the result.
    Rated,
    /// 作废: not a case, with a reason.
    Voided,
    /// Merged into another case as its duplicate.
    Merged,
}

impl Stage {
    pub const ALL: [Stage; 10] = [
        Stage::Intake,
        Stage::Filed,
        Stage::Dispatched,
        Stage::Handling,
        Stage::ExtensionRequested,
        Stage::Feedback,
        Stage::Closed,
        Stage::Rated,
        Stage::Voided,
        Stage::Merged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Intake => "intake",
            Stage::Filed => "filed",
            Stage::Dispatched => "dispatched",
            Stage::Handling => "handling",
            Stage::ExtensionRequested => "extension_requested",
            Stage::Feedback => "feedback",
            Stage::Closed => "closed",
            Stage::Rated => "rated",
            Stage::Voided => "voided",
            Stage::Merged => "merged",
        }
    }

    pub fn parse(text: &str) -> Option<Stage> {
        Stage::ALL.into_iter().find(|stage| stage.as_str() == text)
    }

    /// Returns true while work on the case is still due, so that its deadline can pass.
    pub fn is_open(self) -> bool {
        !matches!(self, Stage::Closed | Stage::Rated | Stage::Voided | Stage::Merged)
    }
}

/// An action a person takes on a case. Each has one row or more in the transition table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 立案: accept the report as a case.
    File,
    /// 派遣: send the case to a department.
    Dispatch,
    /// The department starts handling the case.
    Accept,
    /// 退单: the department returns a wrongly sent case, with a reason.
    Return,
    /// 改派: the dispatcher sends the case to another department.
    Redispatch,
    /// 延期申请: the department requests more working time.
    RequestExtension,
    /// 延期批准: the dispatcher grants the requested time, moving the deadline.
    ApproveExtension,
    /// 延期驳回: the dispatcher rejects the extension, so the deadline stays.
    RejectExtension,
    /// 反馈: the department reports the work done.
    ReportDone,
    /// 核查结案: the site is verified and the case closes.
    Verify,
    /// 返工: verification fails and the case goes back to handling.
    Rework,
    /// 评价: the reporter rates the result.
    Rate,
    /// 重开: the problem came back within the reopen window after closing.
    Reopen,
    /// 作废: the report is not a case.
    Void,
    /// Merge into another case as its duplicate.
    Merge,
    /// 重新分类: the dispatcher corrects the category, which re-runs routing and the
    /// current deadline. The case keeps its id.
    Reclassify,
    /// A log entry that leaves the stage as it is, such as an IoT alarm being cleared.
    /// The system writes it, so it has no row in the transition table.
    Note,
}

impl Action {
    pub const ALL: [Action; 17] = [
        Action::File,
        Action::Dispatch,
        Action::Accept,
        Action::Return,
        Action::Redispatch,
        Action::RequestExtension,
        Action::ApproveExtension,
        Action::RejectExtension,
        Action::ReportDone,
        Action::Verify,
        Action::Rework,
        Action::Rate,
        Action::Reopen,
        Action::Void,
        Action::Merge,
        Action::Reclassify,
        Action::Note,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::File => "file",
            Action::Dispatch => "dispatch",
            Action::Accept => "accept",
            Action::Return => "return",
            Action::Redispatch => "redispatch",
            Action::RequestExtension => "request_extension",
            Action::ApproveExtension => "approve_extension",
            Action::RejectExtension => "reject_extension",
            Action::ReportDone => "report_done",
            Action::Verify => "verify",
            Action::Rework => "rework",
            Action::Rate => "rate",
            Action::Reopen => "reopen",
            Action::Void => "void",
            Action::Merge => "merge",
            Action::Reclassify => "reclassify",
            Action::Note => "note",
        }
    }

    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|action| action.as_str() == text)
    }
}

/// The channel through which a report reached citycore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// The resident web page.
    Web,
    /// Staff entry in the console.
    Staff,
    /// A hotline operator (12345) typing a call in.
    Hotline,
    /// A grid worker's patrol report.
    Patrol,
    /// The JSON API.
    Api,
    /// An Open311 GeoReport v2 client.
    Open311,
    /// An IoT sensor alarm.
    Iot,
}

impl Channel {
    pub const ALL: [Channel; 7] = [
        Channel::Web,
        Channel::Staff,
        Channel::Hotline,
        Channel::Patrol,
        Channel::Api,
        Channel::Open311,
        Channel::Iot,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Staff => "staff",
            Channel::Hotline => "hotline",
            Channel::Patrol => "patrol",
            Channel::Api => "api",
            Channel::Open311 => "open311",
            Channel::Iot => "iot",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|channel| channel.as_str() == text)
    }
}
