/** The one path Alertmanager posts to (its webhook_config url ends with it). */
export const ALERTS_PATH = '/alerts';
