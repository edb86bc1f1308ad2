import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a manifest is free-form YAML read only by these assertions
type Manifest = Record<string, any>;

function load(file: string): Manifest {
  return parse(readFileSync(`config/slack/${file}`, 'utf8')) as Manifest;
}

describe('Slack app manifests', () => {
  it.each(['manifest.http.yaml', 'manifest.socket.yaml'])(
    '%s declares the command, Home tab, events, interactivity and scopes Roster uses',
    (file) => {
      const m = load(file);
      expect(m.features.slash_commands.map((c: { command: string }) => c.command)).toEqual(['/roster']);
      expect(m.features.app_home.home_tab_enabled).toBe(true);
      // Direct messages to the app (the Messages tab) are answered like /roster (issue 22).
      expect(m.settings.event_subscriptions.bot_events).toEqual(['app_home_opened', 'message.im']);
      expect(m.oauth_config.scopes.bot).toContain('im:history');
      expect(m.settings.interactivity.is_enabled).toBe(true);
      expect(m.oauth_config.scopes.bot).toEqual(expect.arrayContaining(['commands', 'chat:write', 'users:read', 'users:read.email']));
    },
  );

  it('the HTTP variant points every URL at /slack/events; the Socket Mode one has none', () => {
    const http = load('manifest.http.yaml');
    expect(http.settings.socket_mode_enabled).toBe(false);
    expect(http.settings.event_subscriptions.request_url).toMatch(/\/slack\/events$/);
    expect(http.settings.interactivity.request_url).toMatch(/\/slack\/events$/);
    expect(http.features.slash_commands[0].url).toMatch(/\/slack\/events$/);
    const socket = load('manifest.socket.yaml');
    expect(socket.settings.socket_mode_enabled).toBe(true);
    expect(JSON.stringify(socket)).not.toContain('request_url');
    expect(JSON.stringify(socket)).not.toContain('"url"');
  });
});
