import { lazy, Suspense, useCallback, useEffect, useEffectEvent, useRef, useState, type FormEvent } from 'react';
import { ErrorBox } from '../../../components/ErrorBox.js';
import { JobProgress } from '../../../components/JobProgress.js';
import { Link } from '../../../components/Link.js';
import { useFollowJob } from '../../../lib/followJob.js';
import { dropNode } from '../../../lib/drawnLinks.js';
import {
  buildSpec,
  catalogChoice,
  catalogPulls,
  checkWizard,
  libraryName,
  type WizardInput,
  type WizardNode,
  type Wiring,
} from '../../../lib/wizardSpec.js';
import { useCatalogEntries, useDeploy, usePullMany, useReadyImages } from '../api/labs.js';
import { DrawnLinksForm } from './DrawnLinksForm.js';
import { PullsFirst } from './PullsFirst.js';

// xyflow is most of the graph's weight: loaded only when "drawn on the graph" is picked (the lab page shares the chunk).
const DrawnWiring = lazy(() => import('./DrawnWiring.js'));

const newNode = (i: number, image = ''): WizardNode => ({ name: `vm${i}`, image, memory: 512, cpus: 1 });

/** /labs/new: images, node names, memory and CPUs, wiring, cloud-init → an inline spec, deployed as a job followed here. */
export function NewLabWizard() {
  const images = useReadyImages();
  const catalog = useCatalogEntries();
  const deploy = useDeploy();
  const pull = usePullMany();
  // Catalog pulls still running before the deploy, and any that did not succeed.
  const [waiting, setWaiting] = useState<Set<string>>(new Set());
  const [failedPulls, setFailedPulls] = useState<string[]>([]);
  const [w, setW] = useState<WizardInput>({
    lab: 'lab1',
    nodes: [newNode(1)],
    wiring: 'chain',
    cloudInit: { importSshKeys: false, packages: '', runcmd: '' },
  });
  const [tried, setTried] = useState(false);
  // A stable key per node row (w.nodes[i] has keys[i]): rows keep their identity when one above is removed.
  const [keys, setKeys] = useState<number[]>([1]);
  const nextKey = useRef(2);
  const job = useFollowJob(deploy.data?.job_id, [['labs']]);
  const fromCatalog = (catalog.data ?? []).filter((c) => !images.data?.some((i) => i.name === c.id));
  const firstImage = images.data?.[0]?.name ?? (fromCatalog[0] ? catalogChoice(fromCatalog[0].id) : '');
  const nodes = w.nodes.map((n) => (n.image ? n : { ...n, image: firstImage }));
  const input = { ...w, nodes };
  const shown = tried ? checkWizard(input) : {};

  const setNode = (i: number, patch: Partial<WizardNode>) =>
    setW({ ...w, nodes: nodes.map((n, j) => (j === i ? { ...n, ...patch } : n)) });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (Object.keys(checkWizard(input)).length > 0) return;
    const pulls = catalogPulls(input).filter((id) => !images.data?.some((i) => i.name === id));
    setFailedPulls([]);
    if (pulls.length === 0) return deploy.mutate(buildSpec(input));
    setWaiting(new Set(pulls));
    pull.mutate(pulls);
  };
  const onPullOver = useCallback((id: string, ok: boolean) => {
    if (!ok) setFailedPulls((f) => (f.includes(id) ? f : [...f, id]));
    setWaiting((w) => {
      const next = new Set(w);
      next.delete(id);
      return next;
    });
  }, []);
  // Every pull over and none failed: now the deploy.
  const pullsDone = pull.isSuccess && waiting.size === 0;
  // Reads the input as it is when the pulls end; not a reason to run the effect again.
  const deployAfterPulls = useEffectEvent(() => {
    if (failedPulls.length === 0 && !deploy.data && !deploy.isPending) deploy.mutate(buildSpec(input));
  });
  // Runs when the pulls end (pullsDone turns true).
  useEffect(() => {
    if (pullsDone) deployAfterPulls();
  }, [pullsDone]);
  const userOf = (name: string) =>
    images.data?.find((i) => i.name === libraryName(name))?.default_user ??
    catalog.data?.find((c) => c.id === libraryName(name))?.defaultUser;

  return (
    <section>
      <h2>New lab</h2>
      <form className="wizard" onSubmit={submit} noValidate>
        <fieldset>
          <legend>1 · Name</legend>
          <label>
            Lab name
            <input
              value={w.lab}
              onChange={(e) => setW({ ...w, lab: e.target.value })}
              aria-invalid={Boolean(shown.lab)}
            />
          </label>
          {shown.lab ? <div className="field-error">{shown.lab}</div> : null}
        </fieldset>

        <fieldset>
          <legend>2 · Nodes</legend>
          {images.data && images.data.length === 0 ? (
            <p className="muted">
              The library has no ready image yet: pick a catalog image below (it is downloaded before the deploy), or{' '}
              <Link href="/images/local">upload one</Link>.
            </p>
          ) : null}
          {nodes.map((n, i) => (
            <div className="node-row" key={keys[i]}>
              <label>
                Name
                <input
                  value={n.name}
                  onChange={(e) => setNode(i, { name: e.target.value })}
                  aria-invalid={Boolean(shown[`nodes.${i}.name`])}
                />
                {shown[`nodes.${i}.name`] ? <span className="field-error">{shown[`nodes.${i}.name`]}</span> : null}
              </label>
              <label>
                Image
                <select value={n.image} onChange={(e) => setNode(i, { image: e.target.value })}>
                  <optgroup label="Library">
                    {(images.data ?? []).map((img) => (
                      <option key={img.id} value={img.name}>
                        {img.name}
                      </option>
                    ))}
                  </optgroup>
                  <optgroup label="Catalog (downloaded first)">
                    {fromCatalog.map((c) => (
                      <option key={c.id} value={catalogChoice(c.id)}>
                        {c.name}
                      </option>
                    ))}
                  </optgroup>
                </select>
                {shown[`nodes.${i}.image`] ? <span className="field-error">{shown[`nodes.${i}.image`]}</span> : null}
              </label>
              <label>
                Memory (MiB)
                <input
                  type="number"
                  min={64}
                  step={64}
                  value={n.memory}
                  onChange={(e) => setNode(i, { memory: Number(e.target.value) })}
                />
                {shown[`nodes.${i}.memory`] ? <span className="field-error">{shown[`nodes.${i}.memory`]}</span> : null}
              </label>
              <label>
                CPUs
                <input
                  type="number"
                  min={1}
                  max={64}
                  value={n.cpus}
                  onChange={(e) => setNode(i, { cpus: Number(e.target.value) })}
                />
              </label>
              <button
                type="button"
                disabled={nodes.length === 1}
                onClick={() => {
                  setW({ ...w, nodes: nodes.filter((_, j) => j !== i), drawn: dropNode(w.drawn ?? [], i) });
                  setKeys((ks) => ks.filter((_, j) => j !== i));
                }}
                aria-label={`remove node ${n.name}`}
              >
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => {
              const key = nextKey.current++;
              setW({ ...w, nodes: [...nodes, newNode(nodes.length + 1, firstImage)] });
              setKeys((ks) => [...ks, key]);
            }}
          >
            Add a node
          </button>
        </fieldset>

        <fieldset>
          <legend>3 · Wiring</legend>
          <div className="radio-row" role="radiogroup">
            {(['none', 'chain', 'star', 'drawn'] as Wiring[]).map((k) => (
              <label key={k}>
                <input type="radio" name="wiring" checked={w.wiring === k} onChange={() => setW({ ...w, wiring: k })} />
                {k === 'none'
                  ? 'None'
                  : k === 'chain'
                    ? 'Chain (vm1–vm2–vm3…)'
                    : k === 'star'
                      ? `Star (around ${nodes[0]?.name ?? 'the first node'})`
                      : 'Drawn on the graph'}
              </label>
            ))}
          </div>
          {w.wiring === 'drawn' ? (
            <div className="drawn-wiring">
              <p className="muted">
                Drag from one node to another to link them; select a link and press Delete, or click its ×, to remove
                it. Interfaces are eth1, eth2… on each node in the order the links are drawn.
              </p>
              <Suspense fallback={<p className="muted">Loading the graph…</p>}>
                <DrawnWiring
                  names={nodes.map((n) => n.name)}
                  drawn={w.drawn ?? []}
                  onChange={(drawn) => setW((cur) => ({ ...cur, drawn }))}
                />
              </Suspense>
              <DrawnLinksForm
                names={nodes.map((n) => n.name)}
                drawn={w.drawn ?? []}
                onChange={(drawn) => setW((cur) => ({ ...cur, drawn }))}
              />
            </div>
          ) : null}
        </fieldset>

        <fieldset>
          <legend>4 · Cloud-init (cloud images)</legend>
          <p className="muted">Default user: {[...new Set(nodes.map((n) => userOf(n.image) ?? '—'))].join(', ')}</p>
          <label className="check">
            <input
              type="checkbox"
              checked={w.cloudInit.importSshKeys}
              onChange={(e) => setW({ ...w, cloudInit: { ...w.cloudInit, importSshKeys: e.target.checked } })}
            />
            Add the server user's SSH public keys (~/.ssh/*.pub)
          </label>
          <label>
            Packages <span className="muted">(space or comma separated)</span>
            <input
              value={w.cloudInit.packages}
              placeholder="tcpdump iperf3"
              onChange={(e) => setW({ ...w, cloudInit: { ...w.cloudInit, packages: e.target.value } })}
            />
          </label>
          <label>
            Commands to run at first boot <span className="muted">(one a line)</span>
            <textarea
              rows={3}
              value={w.cloudInit.runcmd}
              onChange={(e) => setW({ ...w, cloudInit: { ...w.cloudInit, runcmd: e.target.value } })}
            />
          </label>
        </fieldset>

        <fieldset>
          <legend>5 · Ports</legend>
          <label>
            Port base{' '}
            <span className="muted">(optional: links, consoles and SSH forwards from here, in three blocks)</span>
            <input
              type="number"
              min={1024}
              max={65535}
              value={w.portBase ?? ''}
              placeholder="vmlab's defaults"
              aria-invalid={Boolean(shown.portBase)}
              onChange={(e) => setW({ ...w, portBase: e.target.value === '' ? null : Number(e.target.value) })}
            />
          </label>
          {shown.portBase ? <div className="field-error">{shown.portBase}</div> : null}
        </fieldset>

        <button
          type="submit"
          className="primary"
          disabled={deploy.isPending || pull.isPending || waiting.size > 0 || Boolean(job && !job.over)}
        >
          Deploy
        </button>
        {Object.keys(shown).length ? (
          <div className="field-error">
            Fix the {Object.keys(shown).length === 1 ? 'field' : `${Object.keys(shown).length} fields`} marked above.
          </div>
        ) : null}
        {pull.data && (waiting.size > 0 || failedPulls.length > 0) ? (
          <PullsFirst pulls={pull.data} onOver={onPullOver} />
        ) : null}
        {failedPulls.length ? (
          <div className="error">
            Not deployed: the download of {failedPulls.join(', ')} did not succeed (see Jobs). Pick another image or try
            again.
          </div>
        ) : null}
        <ErrorBox error={deploy.error ?? pull.error ?? images.error} />
        {job ? <JobProgress job={job} /> : null}
        {job?.log.length ? <pre className="log">{job.log.join('\n')}</pre> : null}
        {job?.status === 'succeeded' && deploy.data ? (
          <p>
            <Link href={`/labs/${encodeURIComponent(deploy.data.lab)}`} className="button primary">
              Open {deploy.data.lab}
            </Link>
          </p>
        ) : null}
      </form>
    </section>
  );
}
