/** What a browser without a valid login cookie sees: how to get signed in, not a blank page. */
export function LoginHelp() {
  return (
    <main className="login-help" id="main">
      <h1>Sign in to vmlab</h1>
      <p>This browser has no valid login for this server (no login cookie, or the server's token has changed).</p>
      <ol>
        <li>
          Find the line <code>login link: http://…/?token=…</code> that <code>vmlab serve</code> printed in its terminal, and open that link here.
        </li>
        <li>
          Lost it? The token is in <code>~/.vmlab/api-token</code> (or <code>$VMLAB_HOME/api-token</code>) on the server: open <code>{location.origin}/?token=</code>
          <em>that token</em>.
        </li>
      </ol>
      <p className="muted">The link sets an HttpOnly cookie for this site and removes the token from the address bar.</p>
    </main>
  );
}
