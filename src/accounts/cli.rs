//! `citycore user add`.

use std::io::Read;

use clap::Args;

use super::{
    Role,
    service::{AccountInput, create_account},
};
use crate::{audit::Actor, config::Settings, db::Db, i18n::Locale, locate::Locator};

#[derive(Debug, Args)]
pub struct AddUserArgs {
    /// Login name: 3–64 letters, digits, `.`, `_` or `-` (stored in lower case).
    #[arg(long)]
    pub username: String,
    /// The name shown in the console, such as 王芳.
    #[arg(long)]
    pub display_name: String,
    /// The account's role.
    #[arg(long, value_enum)]
    pub role: Role,
    /// Code of an area the account is scoped to; repeat for several. Grid workers need
    /// grids, community workers communities, administrators none.
    #[arg(long = "area", value_name = "CODE")]
    pub areas: Vec<String>,
    /// Console language of the account: `zh-CN` or `en`; omitted follows the browser.
    #[arg(long, value_parser = parse_locale)]
    pub locale: Option<Locale>,
    /// Department code of a handler, such as HWS: the handler then reads and acts only
    /// on cases dispatched to that department. Other roles take none.
    #[arg(long = "department", value_name = "CODE")]
    pub department_code: Option<String>,
    /// Read the password (at least 10 characters) from the first line of standard
    /// input instead of generating one.
    #[arg(long)]
    pub password_stdin: bool,
}

fn parse_locale(text: &str) -> Result<Locale, String> {
    match text {
        "zh-CN" | "en" => Locale::parse(text).ok_or_else(|| "expected zh-CN or en".to_owned()),
        _ => Err(format!("unsupported locale {text}; expected zh-CN or en")),
    }
}

/// Creates an account and prints a generated password once, audited with actor `cli`.
///
/// # Errors
/// Fails on an invalid or taken username, an unknown area code, a role that needs an
/// area, a password shorter than 10 characters, or a database failure.
pub async fn add_user(db: &Db, settings: &Settings, args: AddUserArgs) -> anyhow::Result<()> {
    let password = if args.password_stdin { Some(read_password_line()?) } else { None };
    let locator = Locator::new(settings.locate.clone());
    locator.reload(db).await?;
    let input = AccountInput {
        username: args.username,
        display_name: args.display_name,
        role: args.role,
        area_codes: args.areas,
        locale: args.locale,
        department_code: args.department_code,
        password,
    };
    let created = create_account(db, &locator.snapshot(), input, &Actor::cli()).await?;
    println!("created user {}", created.user_id);
    if let Some(generated) = created.generated_password {
        println!("password (shown once): {}", generated.expose());
    }
    Ok(())
}

fn read_password_line() -> anyhow::Result<String> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let line = text.lines().next().unwrap_or_default();
    Ok(line.to_owned())
}
