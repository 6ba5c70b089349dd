//! The service's home: the application state every connection shares, and building it from
//! the config (load the knowledge base, indexes and model, open and seed the database, start
//! the desk). The sockets get narrow handles ([`ChatService`], [`AgentService`]), the HTTP
//! handlers the whole [`AppState`]; nothing below `web` knows this module.

use std::sync::Arc;
use std::time::Duration;

use crate::agents::session::AgentService;
use crate::agents::{Desk, DeskConfig};
use crate::chat::{ChatService, ChatSettings};
use crate::config::Config;
use crate::dialogue::{Engines, Router};
use crate::knowledge::KnowledgeBase;
use crate::metrics::Metrics;
use crate::orders::{OrderSource, PhoneGuesses};
use crate::search::Thresholds;
use crate::store::{Backend, ConversationStore, KnowledgeStore};
use crate::time::Clock;

/// State shared by every connection.
pub struct AppState {
    /// Settings in force.
    pub config: Config,
    /// kefu's own database (conversations, handoffs, accounts, the knowledge base as edited).
    pub store: Backend,
    /// The dialogue router (engines, order source, clock).
    pub router: Router,
    /// The service desk: the human agents' queue and who owns which conversation.
    pub desk: Desk,
    /// The nodes sharing this database (this one alone on SQLite): who leads the desk.
    pub cluster: crate::cluster::Cluster,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// The secret staff tokens are signed with (generated once, kept in the database).
    pub staff_secret: String,
    /// Staff logins: a bound on the password checks at once, the lockout after repeated wrong
    /// passwords.
    pub logins: crate::accounts::Logins,
    /// The staff accounts every staff token is checked against (cached, a few seconds).
    pub roster: Arc<crate::accounts::Roster>,
    /// The live knowledge base trainers edit.
    pub curator: crate::trainer::Curator,
    /// Intent model versions: the one in force, retraining jobs, activation and rollback.
    pub models: crate::models::Models,
    /// What a shopper's WebSocket session needs (the router, the desk, its limits).
    pub chat: Arc<ChatService>,
    /// What an agent's WebSocket session needs (the desk, the roster).
    pub agents: Arc<AgentService>,
    /// Outbound webhooks: the endpoints, the delivery log (the worker runs on its own).
    pub webhooks: crate::webhooks::Webhooks,
    /// The ids of the store's events already taken (`/api/store/events`), bounded.
    pub store_events: std::sync::Mutex<crate::orders::events::SeenIds>,
    /// Catalog sync: the store's products and stock into the product index.
    pub catalog: crate::catalog_sync::CatalogSync,
    /// Tells the other nodes what this one changed in the knowledge it serves (FAQ, models,
    /// catalog); they rebuild theirs.
    pub knowledge: crate::knowledge_sync::KnowledgeSync,
}

/// Everything a running service needs, built from the config.
pub async fn build(config: Config, clock: Clock) -> anyhow::Result<Arc<AppState>> {
    let kb = KnowledgeBase::load(&config.knowledge).map_err(|d| anyhow::anyhow!("{d}"))?;
    let thresholds = Thresholds::load(&config.knowledge)?;

    let store = Backend::open(&config.database).await?;
    // on PostgreSQL the database holds the model versions (the folder is this node's cache of
    // them); on SQLite the folder does
    let registry = match crate::store::backend::postgres_url(&config.database) {
        Some(_) => crate::models::Registry::shared(
            config.model_store_dir(),
            &config.model,
            store.clone(),
            tokio::runtime::Handle::current(),
        ),
        None => crate::models::Registry::new(config.model_store_dir(), &config.model),
    };
    let held_out = config.knowledge.join("eval/intents");
    let models =
        tokio::task::spawn_blocking(move || crate::models::Models::open(registry, held_out)).await??;
    let intents = models.serving().1;
    let seeded = store.seed(kb.shoppers.clone(), kb.orders.clone()).await?;
    // the knowledge base as trainers left it (the files win when they changed since)
    let faqs = crate::trainer::curator::sync_from_files(&store, &kb, &config.knowledge).await?;
    store.seed_canned(kb.canned.clone()).await?;
    tracing::info!(faqs = kb.faqs.len(), products = kb.products.len(), seeded, "knowledge loaded");
    let engines = Arc::new(Engines::build(&faqs, thresholds, kb.products, intents)?);
    // from the config when given (validated there), else generated once and kept in the database
    let staff_secret = match &config.staff_token_secret {
        Some(s) => s.clone(),
        None => crate::accounts::staff_secret(&store).await?,
    };
    // several nodes on one PostgreSQL share one desk (led by one of them) over LISTEN/NOTIFY;
    // on SQLite the node is alone and the desk runs here, as it always did
    let cluster = match crate::store::backend::postgres_url(&config.database) {
        Some(url) => crate::cluster::Cluster::connect(url).await?,
        None => crate::cluster::Cluster::local(),
    };
    let desk = Desk::start_clustered(
        store.clone(),
        DeskConfig {
            grace: Duration::from_secs(config.agent_grace_secs),
            recall_window: Duration::from_secs(config.recall_window_secs),
            default_capacity: config.agent_capacity,
            max_capacity: crate::config::MAX_AGENT_CAPACITY,
            max_message_chars: config.max_message_chars,
            hours: config.hours()?,
            clock,
        },
        &cluster,
    )
    .await?;
    // the demo store's orders in kefu's own database, or the store's API (`orders_source`);
    // the guess lockout is kefu's whatever the source
    let orders: Arc<dyn OrderSource> =
        crate::orders::from_config(&config, store.clone()).map_err(anyhow::Error::msg)?;
    let guesses: Arc<dyn PhoneGuesses> = Arc::new(store.clone());
    tracing::info!(source = orders.name(), "order source");
    let router = Router::new(engines, orders, guesses, clock);
    // what this node changes in the knowledge it serves, the others rebuild (`knowledge_sync`)
    let knowledge = crate::knowledge_sync::KnowledgeSync::new(cluster.bus().clone());
    let k = knowledge.clone();
    let curator = crate::trainer::Curator::new(store.clone(), router.clone())
        .announcing(move || k.announce(crate::knowledge_sync::Changed::Faq));
    let metrics = Arc::new(Metrics::new());
    let roster = Arc::new(crate::accounts::Roster::new(store.clone()));
    let chat = Arc::new(ChatService {
        store: store.clone(),
        router: router.clone(),
        desk: desk.clone(),
        metrics: metrics.clone(),
        rates: Arc::new(crate::chat::rates::Rates::new(&config)),
        live: Arc::new(crate::chat::live::LiveSessions::new()),
        settings: ChatSettings::from(&config),
    });
    // on a cluster: the rate limits and the order updates for live sessions reach every node
    crate::chat::rates_sync::start(chat.rates.clone(), &cluster);
    crate::chat::live_sync::start(chat.live.clone(), &cluster);
    let agents = Arc::new(AgentService {
        desk: desk.clone(),
        roster: roster.clone(),
        staff_secret: staff_secret.clone(),
        hello_timeout: Duration::from_secs(config.hello_timeout_secs),
        send_timeout: Duration::from_secs(config.send_timeout_secs.max(1)),
    });
    let webhooks =
        crate::webhooks::Webhooks::start(store.clone(), crate::webhooks::Settings::from_config(&config)?)
            .await?;
    let every = (config.catalog_sync_secs > 0).then(|| Duration::from_secs(config.catalog_sync_secs));
    let catalog = crate::catalog_sync::CatalogSync::start(router.clone(), router.orders.clone(), every);
    // purges what is past its retention period, in small batches (issue 21)
    crate::privacy::retention::start(
        store.clone(),
        crate::privacy::retention::Settings::from_config(&config),
    );
    let app = Arc::new(AppState {
        webhooks,
        catalog,
        store_events: std::sync::Mutex::new(crate::orders::events::SeenIds::new(10_000)),
        logins: crate::accounts::Logins::new(config.max_concurrent_logins),
        roster,
        chat,
        agents,
        config,
        store,
        router,
        desk,
        cluster,
        metrics,
        staff_secret,
        curator,
        models,
        knowledge,
    });
    let weak = Arc::downgrade(&app);
    crate::knowledge_sync::start(app.cluster.bus(), move || weak.upgrade().map(Follow));
    Ok(app)
}

/// What the knowledge sync driver does on this node when another changed something.
struct Follow(Arc<AppState>);

impl crate::knowledge_sync::Follower for Follow {
    async fn faq(&self) {
        if let Err(e) = self.0.curator.refresh().await {
            tracing::error!(error = %e, "FAQ index not rebuilt after another node's change");
        }
    }

    async fn models(&self) {
        let app = self.0.clone();
        let followed = tokio::task::spawn_blocking(move || {
            let router = app.router.clone();
            app.models.follow(move |m| {
                router.update_engines(|e| Engines { intents: m.clone(), ..e.clone() });
            })
        })
        .await;
        match followed {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                tracing::error!(error = %e, "model version not followed after another node's change")
            }
            Err(e) => tracing::error!(error = %e, "model version not followed after another node's change"),
        }
    }

    fn catalog(&self, changes: crate::orders::catalog::Changes) {
        self.0.catalog.changed(changes);
    }
}
