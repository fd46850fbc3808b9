from .video_seg_data_preprocessor import VideoSegDataPreProcessor

__all__ = ['VideoSegDataPreProcessor']
