// asciichart ships no types; the one function Move37 calls.
declare module "asciichart" {
  interface PlotConfig {
    height?: number;
    offset?: number;
    padding?: string;
    colors?: string[];
    format?: (x: number, i: number) => string;
  }
  const asciichart: { plot(series: number[] | number[][], config?: PlotConfig): string };
  export default asciichart;
}
