/** What a tab without the token sees: how to get signed in, not a blank page. */
export function LoginHelp({ wrongToken = false }: { wrongToken?: boolean }) {
  return (
    <main className="login-help" id="main">
      <h1>Sign in to vmlab</h1>
      <p>
        {wrongToken
          ? "The token this tab was given does not match this server's (the server's token file may have been replaced)."
          : 'This tab has no login for this server yet (each tab signs in on its own, and forgets it when closed).'}
      </p>
      <ol>
        <li>
          Find the line <code>login link: http://…/#token=…</code> that <code>vmlab serve</code> printed in its
          terminal, and open that link here.
        </li>
        <li>
          Lost it? The token is in <code>~/.vmlab/api-token</code> (or <code>$VMLAB_HOME/api-token</code>) on the
          server: open <code>{location.origin}/#token=</code>
          <em>that token</em>.
        </li>
      </ol>
      <p className="muted">
        The token stays in this tab (session storage) and is sent only to this server, as a header; no cookie is set.
      </p>
    </main>
  );
}
