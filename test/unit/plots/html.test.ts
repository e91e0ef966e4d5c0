import { describe, expect, it } from 'vitest';
import { dataUri, loadVendorScripts, problemText, renderPage } from '../../../src/plots/html.js';
import { buildPlot } from '../../../src/plots/spec.js';

const plot = buildPlot(
  { id: 'plots/<roc>.json', template: 'linear', sources: [{ file: 'plots/<roc>.json', cache: false, x: 'x', y: ['y'] }] },
  [{ rev: 'HEAD', source: { file: 'plots/<roc>.json', cache: false, x: 'x', y: ['y'] }, records: [{ x: 0, y: '</script><b>' }] }],
).plot;

describe('renderPage', () => {
  it('inlines the scripts and the specs so nothing breaks out of a <script>, and forbids any fetch', () => {
    const html = renderPage({ revisions: ['HEAD'], plots: [plot], images: [], problems: [] }, ['var a = "</script>";\n//# sourceMappingURL=a.js.map']);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
    // Three </script> closers: the vendor script, the JSON block and the runner; the data's own is escaped.
    expect(html.match(/<\/script>/g)).toHaveLength(3);
    expect(html).toContain('var a = "<\\/script>";');
    expect(html).not.toContain('sourceMappingURL');
    expect(html).toContain('<h2>plots/&#60;roc&#62;.json</h2>');
    const json = /<script type="application\/json" id="mlbuild-specs">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(json)).toEqual([JSON.parse(JSON.stringify(plot.spec))]);
  });

  it('lists what could not be shown, by file, revision and reason', () => {
    const html = renderPage({ revisions: ['HEAD~1', 'HEAD'], plots: [], images: [], problems: [{ plot: 'p', file: 'plots/roc.json', rev: 'HEAD~1', reason: 'not in HEAD~1' }] }, []);
    expect(html).toContain('<li>plots/roc.json at HEAD~1: not in HEAD~1</li>');
    expect(problemText({ plot: 'PR', reason: 'no x' })).toBe('PR: no x');
  });
});

describe('image plots', () => {
  it('shows each revision of an image side by side, as a data: URI the page policy allows, with the revision as caption', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');
    const images = [
      {
        id: 'eval/importance.png',
        title: 'eval/importance.png',
        revisions: [
          { rev: 'HEAD', file: 'eval/importance.png', mime: 'image/png', size: png.length, src: dataUri('image/png', png) },
          { rev: 'workspace', file: 'eval/importance.png', mime: 'image/svg+xml', size: svg.length, src: dataUri('image/svg+xml', svg) },
        ],
      },
    ];
    const html = renderPage({ revisions: ['HEAD', 'workspace'], plots: [], images, problems: [] }, []);
    const section = /<div class="images" data-image="eval\/importance.png">(.*?)<\/div>/.exec(html)?.[1] ?? '';
    const figures = [...section.matchAll(/<figure><img src="([^"]+)" alt="[^"]*"><figcaption>([^<]+)<\/figcaption><\/figure>/g)];
    expect(figures.map((f) => f[2])).toEqual(['HEAD', 'workspace']);
    expect(figures[0]![1]).toBe(`data:image/png;base64,${png.toString('base64')}`);
    expect(Buffer.from(figures[1]![1]!.split(',')[1]!, 'base64').toString()).toBe('<svg xmlns="http://www.w3.org/2000/svg"/>');
    expect(html).toContain("img-src data:");
  });
});

describe('loadVendorScripts', () => {
  it('reads the vega, vega-lite and vega-embed browser builds from the installed packages', () => {
    const [vega, vegaLite, vegaEmbed] = loadVendorScripts();
    expect(vega).toContain('.vega={}');
    expect(vegaLite).toContain('.vegaLite={}');
    expect(vegaEmbed).toContain('.vegaEmbed=');
  });
});
