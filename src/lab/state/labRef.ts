/** A lab by name and state directory: what every lab command acts on. */
export interface LabRef {
  name: string;
  dir: string;
}
