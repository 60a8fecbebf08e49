import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, unzipSync } from 'fflate';
import { REALDATA } from '../realdata';

/*
 * Valid label tables of the four datasets, small: written here in each dataset's exact format (specs/DATASETS.md),
 * plus the first lines of the real files of ../shared/realdata when present.
 */

/** A label table and which parser reads it. */
export interface TextInput {
  name: string;
  kind: 'nih' | 'nih-boxes' | 'rsna' | 'siim' | 'covid';
  text: string;
}

export const NIH_HEADER_2017 =
  'Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y],';
export const NIH_ROWS = [
  '00000001_000.png,Cardiomegaly,0,1,58,M,PA,2682,2749,0.143,0.143,',
  '00000001_001.png,Cardiomegaly|Emphysema,1,1,058Y,M,PA,2894,2729,0.143,0.143,',
  '00000002_000.png,No Finding,0,2,80,M,AP,2500,2048,0.171,0.171,',
];
export const NIH_BOX_HEADER = 'Image Index,Finding Label,Bbox [x,y,w,h],,,';
export const NIH_BOX_ROWS = [
  '00000001_000.png,Atelectasis,225.084745762712,547.019216763771,86.7796610169491,79.1864406779661',
  '00000002_000.png,Infiltrate,100,100,300,200',
];
export const RSNA_HEADER = 'patientId,x,y,width,height,Target';
export const RSNA_ROWS = [
  '0004cfab-14fd-4e49-80ba-63a80b6bddd6,,,,,0',
  '00436515-870c-4b36-a041-de91049b9ab4,264.0,152.0,213.0,379.0,1',
  '00436515-870c-4b36-a041-de91049b9ab4,562.0,152.0,256.0,453.0,1',
];
export const SIIM_HEADER = 'ImageId, EncodedPixels';
export const SIIM_ROWS = [
  '1.2.276.0.7230010.3.1.4.8323329.5597.1517875188.959090, -1',
  '1.2.276.0.7230010.3.1.4.8323329.12743.1517875241.599591, 387620 23 996 33 986 43 977 51 968 58',
];
export const COVID_HEADER =
  'patientid,offset,sex,age,finding,RT_PCR_positive,survival,intubated,intubation_present,went_icu,in_icu,needed_supplemental_O2,extubated,temperature,pO2_saturation,leukocyte_count,neutrophil_count,lymphocyte_count,view,modality,date,location,folder,filename,doi,url,license,clinical_notes,other_notes,';
export const COVID_ROWS = [
  '2,0,M,65,Pneumonia/Viral/COVID-19,Y,Y,,,,,,,,,,,,PA,X-ray,"January 22, 2020","Cho Ray Hospital, Ho Chi Minh City, Vietnam",images,auntminnie-a-2020_01_28_23_51_6665_2020_01_28_Vietnam_coronavirus.jpeg,10.1056/nejmc2001272,https://x,,"notes, with a comma",,',
  '3,5,F,,No Finding,,,,,,,,,,,,,,AP,X-ray,2020,,images,nejmc2001573_f1a.jpeg,,,,,,',
];

function table(header: string, rows: string[]): string {
  return `${[header, ...rows].join('\n')}\n`;
}

function firstLines(text: string, n: number): string {
  return `${text.split(/\r?\n/).slice(0, n).join('\n')}\n`;
}

/** The label-table bases. */
export function labelTextInputs(): TextInput[] {
  const out: TextInput[] = [
    { name: 'csv:nih', kind: 'nih', text: table(NIH_HEADER_2017, NIH_ROWS) },
    { name: 'csv:nih-boxes', kind: 'nih-boxes', text: table(NIH_BOX_HEADER, NIH_BOX_ROWS) },
    { name: 'csv:rsna', kind: 'rsna', text: table(RSNA_HEADER, RSNA_ROWS) },
    { name: 'csv:siim', kind: 'siim', text: table(SIIM_HEADER, SIIM_ROWS) },
    { name: 'csv:covid', kind: 'covid', text: table(COVID_HEADER, COVID_ROWS) },
  ];
  const gz = (f: string): string | null =>
    existsSync(join(REALDATA, f)) ? new TextDecoder().decode(gunzipSync(readFileSync(join(REALDATA, f)))) : null;
  const nih = gz('Data_Entry_2017_v2020.csv.gz');
  if (nih !== null) out.push({ name: 'real:Data_Entry_2017_v2020.csv', kind: 'nih', text: firstLines(nih, 40) });
  const boxes = gz('BBox_List_2017.csv.gz');
  if (boxes !== null) out.push({ name: 'real:BBox_List_2017.csv', kind: 'nih-boxes', text: firstLines(boxes, 40) });
  const siim = gz('siim-pneumothorax-train-rle.csv.gz');
  if (siim !== null) out.push({ name: 'real:train-rle.csv', kind: 'siim', text: firstLines(siim, 12) });
  if (existsSync(join(REALDATA, 'kaggle_stage_2_train_labels.csv.zip'))) {
    const files = unzipSync(new Uint8Array(readFileSync(join(REALDATA, 'kaggle_stage_2_train_labels.csv.zip'))));
    const name = Object.keys(files).find((f) => f.endsWith('.csv'));
    if (name !== undefined)
      out.push({
        name: 'real:stage_2_train_labels.csv',
        kind: 'rsna',
        text: firstLines(new TextDecoder().decode(files[name]), 40),
      });
  }
  return out;
}
