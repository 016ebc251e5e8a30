//! Long work of the whole fleet in one list: uploads, downloads, clones and VM creations
//! (each a shared [`Job`] handle the host thread advances), with migrations shown from the
//! migrations list. `:jobs` shows them; `x` cancels (confirm); finished ones stay until `c`.

use crate::app::PaneId;
use std::time::Instant;

use super::toast::Level;
use super::{App, Confirm, ConfirmAction, Effect, Mode, View};
use crate::config::keymap::Action;
use crate::job::{Job, JobState};
use crate::model::migration::Migration;
use crate::model::HostId;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    Upload,
    Download,
    Clone,
    NewVm,
    Backup,
    DiskMove,
    Restore,
}

impl JobKind {
    pub fn label(self) -> &'static str {
        match self {
            JobKind::Upload => "upload",
            JobKind::Download => "download",
            JobKind::Clone => "clone",
            JobKind::NewVm => "new VM",
            JobKind::Backup => "backup",
            JobKind::DiskMove => "disk move",
            JobKind::Restore => "restore",
        }
    }
}

#[derive(Clone, Debug)]
pub struct JobEntry {
    pub id: u64,
    pub kind: JobKind,
    pub host: HostId,
    /// What it works on (`pool/volume`, the clone's name, the new VM's name).
    pub target: String,
    /// The VM it came from (a clone's source), for the detail screen.
    pub source: Option<String>,
    pub job: Job,
    pub started: Instant,
    /// When the UI first saw it finished (for the rate of finished jobs).
    pub finished: Option<Instant>,
    /// A failed clone reopens its form with what was typed.
    pub form: Option<Box<super::wizard::Wizard>>,
}

impl JobEntry {
    /// Bytes per second so far.
    pub fn rate(&self, now: Instant) -> Option<f64> {
        let end = self.finished.unwrap_or(now);
        let secs = end.saturating_duration_since(self.started).as_secs_f64();
        (secs >= 0.5 && self.job.done() > 0).then(|| self.job.done() as f64 / secs)
    }

    /// Time left at the rate so far, while running with a known size.
    pub fn eta(&self, now: Instant) -> Option<std::time::Duration> {
        if self.job.state() != JobState::Running || self.job.total() == 0 {
            return None;
        }
        let left = self.job.total().saturating_sub(self.job.done()) as f64;
        let r = self.rate(now)?;
        Some(std::time::Duration::from_secs_f64((left / r).min(1e7)))
    }
}

#[derive(Debug, Default)]
pub struct Jobs {
    pub list: Vec<JobEntry>,
    pub sel: usize,
    next: u64,
}

impl Jobs {
    pub fn add(
        &mut self,
        kind: JobKind,
        host: HostId,
        target: String,
        job: Job,
        now: Instant,
    ) -> &mut JobEntry {
        self.next += 1;
        self.list.push(JobEntry {
            id: self.next,
            kind,
            host,
            target,
            source: None,
            job,
            started: now,
            finished: None,
            form: None,
        });
        let last = self.list.len() - 1;
        &mut self.list[last]
    }

    /// The jobs of `kinds`, in start order.
    pub fn of<'a>(&'a self, kinds: &'a [JobKind]) -> impl Iterator<Item = &'a JobEntry> + 'a {
        self.list.iter().filter(move |j| kinds.contains(&j.kind))
    }
}

/// One row of the jobs pane: a job, or a migration from the migrations list.
pub enum Row<'a> {
    Job(&'a JobEntry),
    Migration(&'a Migration),
}

impl Row<'_> {
    pub fn host(&self) -> HostId {
        match self {
            Row::Job(j) => j.host,
            Row::Migration(m) => m.source,
        }
    }

    pub fn target(&self) -> &str {
        match self {
            Row::Job(j) => &j.target,
            Row::Migration(m) => &m.vm_name,
        }
    }

    pub fn running(&self) -> bool {
        match self {
            Row::Job(j) => j.job.state() == JobState::Running,
            Row::Migration(m) => !m.phase.is_finished(),
        }
    }
}

/// The rows the pane shows, in start order, narrowed by `:jobs @HOST /TEXT`.
pub fn rows(app: &App) -> Vec<Row<'_>> {
    let keep =
        |host: HostId, name: &str| super::panes::keeps(app, super::panes::PaneId::Jobs, host, name);
    let mut out: Vec<(Option<Instant>, Row)> = app
        .jobs
        .list
        .iter()
        .filter(|j| keep(j.host, &j.target))
        .map(|j| (Some(j.started), Row::Job(j)))
        .chain(
            app.migrations
                .list
                .iter()
                .filter(|m| keep(m.source, &m.vm_name))
                .map(|m| (m.started, Row::Migration(m))),
        )
        .collect();
    // Not yet started (queued) migrations sort last.
    out.sort_by_key(|(t, _)| (t.is_none(), *t));
    out.into_iter().map(|(_, r)| r).collect()
}

/// Marks newly finished jobs and says so; a failed clone or backup reopens its form.
pub fn tick(app: &mut App) {
    let now = app.now;
    let mut reopen = None;
    let mut said = Vec::new();
    let mut hosts_of = Vec::new();
    let mut notes = Vec::new();
    for j in app.jobs.list.iter_mut().filter(|j| j.finished.is_none()) {
        let s = j.job.state();
        if s == JobState::Running {
            continue;
        }
        j.finished = Some(now);
        if let (JobState::Failed(e), Some(form)) = (&s, j.form.take()) {
            reopen = Some((form, e.clone(), j.kind.label()));
        }
        // Transfers report through their pane; clones and new VMs here.
        let what = match j.kind {
            JobKind::Clone => ("clone", "defined"),
            JobKind::Backup => ("backup of", "done"),
            JobKind::DiskMove => ("disk move of", "done"),
            JobKind::Restore => ("restore into", "done"),
            _ => continue,
        };
        let t = &j.target;
        let host = j.host;
        said.push(match &s {
            JobState::Done => match j.job.note() {
                Some(n) => (Level::Info, format!("{} {t} {}: {n}", what.0, what.1)),
                None => (Level::Info, format!("{} {t} {}", what.0, what.1)),
            },
            JobState::Cancelled => (Level::Info, format!("{} {t} cancelled", what.0)),
            JobState::Failed(e) => (Level::Error, format!("{} {t} failed: {e}", what.0)),
            JobState::Running => continue,
        });
        hosts_of.push(host);
    }
    for (level, text) in said {
        // The events pane keeps the outcome too (host-wide: the job names its VM).
        let bad = level == Level::Error;
        app.messages.push(level, text.clone(), now);
        notes.push((text, bad));
    }
    for (host, (text, bad)) in hosts_of.into_iter().zip(notes) {
        super::events::note(app, host, ("", ""), super::events::NoteKind::Job, text, bad);
    }
    if let Some((mut form, e, label)) = reopen {
        // Back to the form with what was typed, unless another dialog is open.
        if app.mode == Mode::Normal {
            form.submit = super::wizard::Submit::Editing;
            form.error = Some(format!("{label} failed: {e}"));
            app.push_overlay(Mode::Wizard(form));
        }
    }
}

pub fn open(app: &mut App) -> Vec<Effect> {
    app.view = View::Pane(PaneId::Jobs);
    Vec::new()
}

pub fn key(app: &mut App, action: Action) -> Vec<Effect> {
    let n = rows(app).len();
    if let Some(i) = super::requests::step(app.jobs.sel, n, action, 10) {
        app.jobs.sel = i;
        return Vec::new();
    }
    match action {
        Action::ClearFinished => {
            let before = app.jobs.list.len();
            app.jobs.list.retain(|j| j.job.state() == JobState::Running);
            app.migrations.clear_finished();
            let gone = before - app.jobs.list.len();
            app.jobs.sel = app.jobs.sel.min(rows(app).len().saturating_sub(1));
            if gone == 0 {
                app.messages
                    .push(Level::Info, "no finished jobs to clear", app.now);
            }
        }
        Action::CancelJob => return cancel(app),
        Action::Open => return go_to(app),
        _ => {}
    }
    Vec::new()
}

fn cancel(app: &mut App) -> Vec<Effect> {
    let (id, what) = match rows(app).get(app.jobs.sel) {
        Some(Row::Job(j)) if j.job.state() == JobState::Running => {
            (j.id, format!("{} {}", j.kind.label(), j.target))
        }
        // A migration is cancelled through the migrations pane's own question.
        Some(Row::Migration(m)) if !m.phase.is_finished() => {
            let id = m.id;
            return super::migrations::cancel_by_id(app, id);
        }
        Some(_) => {
            app.messages
                .push(Level::Info, "that job has finished", app.now);
            return Vec::new();
        }
        None => return Vec::new(),
    };
    app.push_overlay(Mode::Confirm(Confirm {
        command: None,
        title: format!("Cancel the {what}?"),
        body: vec![
            "It stops after the step it is on; what it created so far is rolled back.".into(),
        ],
        typed: None,
        action: ConfirmAction::CancelJob(id),
    }));
    Vec::new()
}

/// The confirmation was accepted.
pub fn cancel_confirmed(app: &mut App, id: u64) {
    if let Some(j) = app.jobs.list.iter().find(|j| j.id == id) {
        j.job.cancel();
        let text = format!("cancelling the {} {}", j.kind.label(), j.target);
        app.messages.push(Level::Info, text, app.now);
    }
}

/// Enter: the VM a clone or creation made, the pool of a transfer, the migration.
fn go_to(app: &mut App) -> Vec<Effect> {
    let target = match rows(app).get(app.jobs.sel) {
        Some(Row::Job(j)) => match j.kind {
            JobKind::Upload | JobKind::Download => {
                let pool = j.target.split('/').next().unwrap_or("").to_string();
                Some((j.host, Some(pool), None))
            }
            JobKind::Clone
            | JobKind::NewVm
            | JobKind::Backup
            | JobKind::DiskMove
            | JobKind::Restore => Some((j.host, None, Some(j.target.clone()))),
        },
        Some(Row::Migration(_)) => return super::panes::show(app, PaneId::Migrations),
        None => None,
    };
    match target {
        Some((host, Some(pool), _)) => super::storage::open_volumes(app, host, pool),
        Some((host, None, Some(name))) => {
            let uuid = app
                .host(host)
                .and_then(|h| h.vms.iter().find(|v| v.name == name))
                .map(|v| v.uuid.clone());
            match uuid {
                Some(uuid) => super::detail::open(app, host, uuid),
                None => {
                    app.messages
                        .push(Level::Info, format!("{name} is not listed (yet)"), app.now);
                    Vec::new()
                }
            }
        }
        _ => Vec::new(),
    }
}

pub struct JobsPane;

impl super::panes::Pane for JobsPane {
    fn on_action(&self, app: &mut App, action: Action) -> Vec<Effect> {
        key(app, action)
    }

    fn position(&self, app: &App) -> String {
        super::panes::position(app.jobs.sel, rows(app).len(), "jobs")
    }

    fn cursor(&self, app: &App) -> Option<(usize, usize)> {
        Some((app.jobs.sel, rows(app).len()))
    }

    fn select(&self, app: &mut App, i: usize) -> Vec<Effect> {
        app.jobs.sel = i;
        Vec::new()
    }

    fn hints(&self, _app: &App) -> &'static [(Action, &'static str)] {
        &[
            (Action::Help, "help"),
            (Action::CancelJob, "cancel"),
            (Action::ClearFinished, "clear finished"),
            (Action::Open, "go to"),
            (Action::Palette, "command"),
            (Action::Quit, "quit"),
        ]
    }

    fn tick(&self, app: &mut App) -> Vec<Effect> {
        tick(app);
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_and_eta_follow_progress() {
        let t0 = Instant::now();
        let mut jobs = Jobs::default();
        let job = Job::new("upload");
        job.set_total(1000);
        let e = jobs.add(JobKind::Upload, HostId(0), "p/v".into(), job.clone(), t0);
        job.advance(250);
        let now = t0 + std::time::Duration::from_secs(5);
        assert_eq!(e.rate(now), Some(50.0));
        assert_eq!(e.eta(now), Some(std::time::Duration::from_secs(15)));
        job.finish(JobState::Done);
        assert_eq!(e.eta(now), None);
        // Too early to say.
        assert_eq!(e.rate(t0), None);
    }
}
