// Hover card for a frame: function, file:line, and figures in the file's unit with percentages of the total.
export interface TooltipContent {
  title: string;
  subtitle: string;
  rows: [label: string, value: string][];
  color?: string;
}

export function Tooltip({ content, x, y, bounds }: { content: TooltipContent; x: number; y: number; bounds: { width: number; height: number } }) {
  // Flip to the other side of the cursor near the right/bottom edges so the card never leaves the surface.
  const left = x + 340 > bounds.width ? Math.max(4, x - 336) : x + 14;
  const top = y + 150 > bounds.height ? Math.max(4, y - 130) : y + 14;
  return (
    <div className="tooltip" data-testid="tooltip" style={{ left, top }} role="tooltip">
      <div className="tooltip-title">
        {content.color && <span className="swatch" style={{ background: content.color }} />}
        {content.title}
      </div>
      {content.subtitle && <div className="tooltip-sub">{content.subtitle}</div>}
      <table>
        <tbody>
          {content.rows.map(([label, value]) => (
            <tr key={label}>
              <th>{label}</th>
              <td className="num">{value}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
