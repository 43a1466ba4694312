//! Rendering the demo: a terminal UI (ratatui) when attached to a terminal, plain lines
//! otherwise (CI, pipes) or with `--plain`.

use anyhow::Result;
use clap::Args;
use countersign_harness::demo::{self, Step};
use ratatui::layout::{Constraint, Direction, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, Paragraph, Wrap};
use std::io::IsTerminal;
use std::time::Duration;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Print plain lines instead of the terminal UI.
    #[arg(long)]
    plain: bool,
    /// Pause between steps in the terminal UI, in milliseconds.
    #[arg(long, default_value_t = 900)]
    step_delay_ms: u64,
}

#[derive(Default)]
struct Screen {
    log: Vec<(String, Option<bool>)>,
    phone: Vec<String>,
    browser: String,
    failures: usize,
}

impl Screen {
    fn apply(&mut self, step: &Step) {
        match step {
            Step::Phase(p) => self.log.push((p.clone(), None)),
            Step::Done { text, ok } => {
                if !ok {
                    self.failures += 1;
                }
                self.log.push((text.clone(), Some(*ok)));
            }
            Step::Browser(b) => self.browser = b.clone(),
            Step::Phone(c) => {
                self.phone = vec![
                    format!("Sign-in request: {}", c.app),
                    format!(
                        "Where (approximate): {}",
                        c.location.as_deref().unwrap_or("unknown")
                    ),
                    format!("IP: {}", c.ip.as_deref().unwrap_or("unknown")),
                    format!("Browser: {}", c.client.as_deref().unwrap_or("unknown")),
                    match c.number_length {
                        Some(n) => format!("Type the {n}-digit number shown on the sign-in page"),
                        None => String::new(),
                    },
                    if c.fraud_report {
                        "[Approve]  [Deny]  [Deny and report fraud]".into()
                    } else {
                        "[Approve]  [Deny]".into()
                    },
                ];
            }
        }
    }
}

fn plain(step: &Step, screen: &mut Screen) {
    screen.apply(step);
    match step {
        Step::Phase(p) => println!("\n== {p}"),
        Step::Done { text, ok } => println!("  {} {text}", if *ok { "ok  " } else { "FAIL" }),
        Step::Browser(b) => println!("  browser: {b}"),
        Step::Phone(_) => {
            for l in &screen.phone {
                println!("  phone:   {l}");
            }
        }
    }
}

fn draw(term: &mut ratatui::DefaultTerminal, s: &Screen, footer: &str) -> Result<()> {
    term.draw(|f| {
        let outer = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(5), Constraint::Length(1)])
            .split(f.area());
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(58), Constraint::Percentage(42)])
            .split(outer[0]);
        let right = Layout::default()
            .direction(Direction::Vertical)
            .constraints([Constraint::Min(8), Constraint::Length(5)])
            .split(cols[1]);
        let items: Vec<ListItem> = s
            .log
            .iter()
            .rev()
            .take(usize::from(cols[0].height.saturating_sub(2)))
            .rev()
            .map(|(t, ok)| match ok {
                None => ListItem::new(Line::from(Span::styled(
                    t.clone(),
                    Style::default().add_modifier(Modifier::BOLD),
                ))),
                Some(true) => ListItem::new(Line::from(vec![
                    Span::styled(" ✓ ", Style::default().fg(Color::Green)),
                    Span::raw(t.clone()),
                ])),
                Some(false) => ListItem::new(Line::from(vec![
                    Span::styled(" ✗ ", Style::default().fg(Color::Red)),
                    Span::raw(t.clone()),
                ])),
            })
            .collect();
        f.render_widget(
            List::new(items).block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Countersign demo "),
            ),
            cols[0],
        );
        f.render_widget(
            Paragraph::new(
                s.phone
                    .iter()
                    .map(|l| Line::from(l.clone()))
                    .collect::<Vec<_>>(),
            )
            .wrap(Wrap { trim: true })
            .block(Block::default().borders(Borders::ALL).title(" Phone ")),
            right[0],
        );
        f.render_widget(
            Paragraph::new(s.browser.clone())
                .wrap(Wrap { trim: true })
                .block(Block::default().borders(Borders::ALL).title(" Browser ")),
            right[1],
        );
        f.render_widget(Paragraph::new(footer.to_string()), outer[1]);
    })?;
    Ok(())
}

/// `countersign demo`.
pub fn demo(a: &DemoArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut screen = Screen::default();
    if a.plain || !std::io::stdout().is_terminal() {
        rt.block_on(demo::run(&mut |s| plain(&s, &mut screen)))?;
        return finish(&screen);
    }
    let mut term = ratatui::init();
    let delay = Duration::from_millis(a.step_delay_ms);
    let result = rt.block_on(demo::run(&mut |s| {
        screen.apply(&s);
        let _ = draw(&mut term, &screen, " running…");
        std::thread::sleep(delay);
    }));
    let footer = match &result {
        Ok(()) if screen.failures == 0 => " done: every step behaved as expected. Press q to quit.",
        _ => " finished with problems. Press q to quit.",
    };
    let _ = draw(&mut term, &screen, footer);
    use ratatui::crossterm::event::{Event, KeyCode, read};
    loop {
        if let Ok(Event::Key(k)) = read()
            && matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
        {
            break;
        }
    }
    ratatui::restore();
    result?;
    finish(&screen)
}

fn finish(screen: &Screen) -> Result<()> {
    if screen.failures > 0 {
        anyhow::bail!(
            "{} demo step(s) did not behave as expected",
            screen.failures
        );
    }
    Ok(())
}
