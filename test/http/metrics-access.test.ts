import { startTestRoster } from '../helpers/app.js';

/** `/metrics` is never published by accident: loopback-only without a token, bearer-only with one. */
describe('/metrics access on the public port', () => {
  it('without a token: served to this machine, refused to anyone a reverse proxy relays', async () => {
    const roster = await startTestRoster();
    try {
      const direct = await fetch(`${roster.baseUrl}/metrics`);
      expect(direct.status).toBe(200);
      expect(await direct.text()).toContain('roster_http_request_duration_seconds');
      for (const headers of [{ 'x-forwarded-for': '203.0.113.7' }, { forwarded: 'for=203.0.113.7' }] as Array<Record<string, string>>) {
        const relayed = await fetch(`${roster.baseUrl}/metrics`, { headers });
        expect(relayed.status).toBe(403);
        expect(await relayed.text()).not.toContain('roster_http_request_duration_seconds');
      }
    } finally {
      await roster.stop();
    }
  });

  it('with ROSTER_METRICS_TOKEN: the bearer token is required, from anywhere', async () => {
    const token = 'scrape-me-0123456789abcdef';
    const roster = await startTestRoster({ env: { ROSTER_METRICS_TOKEN: token } });
    try {
      const anonymous = await fetch(`${roster.baseUrl}/metrics`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await fetch(`${roster.baseUrl}/metrics`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
      expect((await fetch(`${roster.baseUrl}/metrics`, { headers: { authorization: `Basic ${token}` } })).status).toBe(401);
      const scraped = await fetch(`${roster.baseUrl}/metrics`, {
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '203.0.113.7' },
      });
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('roster_http_request_duration_seconds');
    } finally {
      await roster.stop();
    }
  });
});
