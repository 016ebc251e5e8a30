//! Secret forms: a new secret (ceph or iscsi usage) with its value, and setting the value of
//! an existing one. Ceph keys are typed as `ceph auth get-key` prints them (base64) and stored
//! decoded, as `virsh secret-set-value --base64` does.

use base64::Engine;

use crate::app::wizard::{self, check, Context, Field, Spec, Wizard};
use crate::app::{App, Effect};
use crate::host::{HostCommand, StorageCmd};
use crate::model::HostId;
use crate::xml::secret::SecretDef;

/// A new secret, or a new value for secret `uuid`.
#[derive(Clone, Debug, PartialEq)]
pub enum SecretForm {
    New,
    Value { uuid: String },
}

impl Spec for SecretForm {
    fn verb(&self) -> &'static str {
        match self {
            SecretForm::New => "define",
            SecretForm::Value { .. } => "set",
        }
    }

    fn refresh(&self, w: &mut Wizard, ctx: &Context) {
        refresh(w, ctx)
    }

    fn submit(&self, app: &mut App) -> Vec<Effect> {
        wizard::send(app, |w, _, id| command(w, id).map(HostCommand::Storage))
    }
}

pub fn new(host: HostId, form: SecretForm) -> Wizard {
    match &form {
        SecretForm::New => Wizard::new(
            "New secret",
            host,
            form.clone(),
            vec!["Secret", "Review"],
            vec![
                Field::choice("usage", "Used by", 0, &["ceph", "iscsi"])
                    .hint("ceph: rbd pools and disks; iscsi: CHAP for iscsi pools"),
                Field::text("id", "Usage name", 0, "")
                    .hint("ceph: e.g. client.libvirt secret; iscsi: the target IQN"),
                Field::text("description", "Description", 0, ""),
                Field::choice(
                    "encoding",
                    "Value is",
                    0,
                    &["base64 (ceph key)", "text (CHAP password)"],
                ),
                Field::secret("value", "Value", 0).hint("stored by libvirt, never shown again"),
            ],
        ),
        SecretForm::Value { .. } => Wizard::new(
            "Set secret value",
            host,
            form.clone(),
            vec!["Value"],
            vec![
                Field::choice(
                    "encoding",
                    "Value is",
                    0,
                    &["base64 (ceph key)", "text (CHAP password)"],
                ),
                Field::secret("value", "New value", 0),
            ],
        ),
    }
}

/// The bytes to store, decoded as the form says.
fn value(w: &Wizard) -> Result<Vec<u8>, String> {
    let v = w.get("value");
    if v.is_empty() {
        return Err("enter the value".into());
    }
    if w.get("encoding").starts_with("base64") {
        base64::engine::general_purpose::STANDARD
            .decode(v.as_bytes())
            .map_err(|e| {
                format!("not valid base64 ({e}); `ceph auth get-key client.NAME` prints the key")
            })
    } else {
        Ok(v.into_bytes())
    }
}

pub fn refresh(w: &mut Wizard, ctx: &Context) {
    if matches!(w.spec_as(), Some(SecretForm::New)) {
        let id = w.get("id");
        let usage = w.get("usage");
        let r = if id.is_empty() {
            Err("enter the usage name".to_string())
        } else if ctx
            .secrets
            .iter()
            .any(|s| s.usage == usage && s.usage_id == id)
        {
            Err(format!(
                "a {usage} secret named {id} exists: set its value instead"
            ))
        } else {
            Ok(())
        };
        check(w, "id", r);
        w.review = Some(def(w).and_then(|d| d.to_xml().map_err(|e| e.to_string())));
    }
    let v = value(w).map(|_| ());
    check(w, "value", v);
}

fn def(w: &Wizard) -> Result<SecretDef, String> {
    let desc = w.get("description");
    Ok(match w.get("usage").as_str() {
        "iscsi" => SecretDef::iscsi(&w.get("id"), &desc),
        _ => SecretDef::ceph(&w.get("id"), &desc),
    })
}

pub fn command(w: &Wizard, id: crate::host::RequestId) -> Result<StorageCmd, String> {
    let value = value(w)?;
    match w.spec_as() {
        Some(SecretForm::Value { uuid }) => Ok(StorageCmd::SetSecretValue {
            id,
            uuid: uuid.clone(),
            value,
        }),
        _ => {
            let xml = def(w)?.to_xml().map_err(|e| e.to_string())?;
            Ok(StorageCmd::DefineSecret {
                id,
                xml,
                value: Some(value),
            })
        }
    }
}
